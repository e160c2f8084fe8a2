/**
 * The two streamed answers of the daemon's local API, read by its client (docs/API.md; the
 * spec's "NDJSON" and "Events"): NDJSON (one JSON object a line) and Server-Sent Events (the
 * WHATWG `text/event-stream` format: `id:`, `event:`, `data:` fields, a blank line ends an event,
 * `:` starts a comment). Both are incremental parsers fed chunks as they arrive.
 *
 * Watch for: the daemon is local but its answers are still bounded here: a line longer than
 * `maxLineBytes` (a stream that never ends its line) fails the parse instead of growing memory.
 */
import { MalformedError, TooLargeError } from '../errors.ts'

/** Longest NDJSON or SSE line accepted by default: a send's answer is small, a line never is. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024

/**
 * Splits chunks into lines (`\n`, `\r\n` or `\r` as SSE allows); `onLine` gets each complete line.
 * Call `end()` once the stream is over: a last line without its newline is given then.
 */
function lineSplitter (onLine: (line: string) => void, maxLineBytes: number): { push: (chunk: string) => void, end: () => void } {
  let buffer = ''
  let skipLf = false
  return {
    push: (chunk) => {
      let start = 0
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk.charCodeAt(i)
        if (skipLf) {
          skipLf = false
          if (c === 10) { start = i + 1; continue }
        }
        if (c === 10 || c === 13) {
          const line = buffer + chunk.slice(start, i)
          buffer = ''
          start = i + 1
          skipLf = c === 13
          onLine(line)
        }
      }
      buffer += chunk.slice(start)
      if (buffer.length > maxLineBytes) throw new TooLargeError(`The daemon sent a line of over ${maxLineBytes} bytes: refused (is something else listening on its socket?)`)
    },
    end: () => {
      if (buffer !== '') onLine(buffer)
      buffer = ''
    }
  }
}

const parseJsonLine = (line: string, what: string): unknown => {
  try {
    return JSON.parse(line)
  } catch (err) {
    throw new MalformedError(`The daemon sent ${what} that is not JSON: upgrade or restart it`, { cause: err })
  }
}

/** An NDJSON parser: `onObject` gets each line's JSON value; blank lines are skipped. */
export function ndjsonParser (onObject: (value: unknown) => void, options: { maxLineBytes?: number } = {}): { push: (chunk: string) => void, end: () => void } {
  return lineSplitter(line => {
    if (line.trim() !== '') onObject(parseJsonLine(line, 'a progress line'))
  }, options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES)
}

/** One Server-Sent Event as received: `id` and `event` as given (`event` defaults to `message`), `data` its JSON. */
export interface SseMessage {
  id?: string
  event: string
  data: unknown
}

/**
 * A `text/event-stream` parser: `onMessage` gets each event once its blank line arrives. Comments
 * (`: keep-alive`) and unknown fields are ignored; an event with no data line is not dispatched
 * (as the WHATWG algorithm says). `data` is parsed as JSON (every event of the API carries JSON).
 */
export function sseParser (onMessage: (message: SseMessage) => void, options: { maxLineBytes?: number } = {}): { push: (chunk: string) => void, end: () => void } {
  let id: string | undefined
  let event = ''
  let data: string[] = []
  return lineSplitter(line => {
    if (line === '') {
      if (data.length > 0) onMessage({ ...(id === undefined ? {} : { id }), event: event === '' ? 'message' : event, data: parseJsonLine(data.join('\n'), 'an event') })
      event = ''
      data = []
      return
    }
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') data.push(value)
    else if (field === 'event') event = value
    // The last event id persists across events, as in the WHATWG algorithm (no NUL allowed).
    else if (field === 'id' && !value.includes('\0')) id = value
  }, options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES)
}
