/**
 * Talking to a daemon's local API in tests (docs/API.md): real HTTP with `node:http`, over the Unix
 * socket (`socketPath`) or TCP; answers as JSON, NDJSON lines, or a Server-Sent Events reader that
 * hands over events as they come.
 */
import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'

export interface ApiTarget {
  /** The Unix socket; or `tcp` (`http://127.0.0.1:PORT`). */
  socket?: string
  tcp?: string
  /** `Bearer <cookie>` is sent when given. */
  cookie?: string
}

export interface ApiRequest {
  method?: string
  path: string
  /** JSON-encoded (Content-Type: application/json); a string or Buffer is sent as is. */
  body?: unknown
  headers?: Record<string, string>
  signal?: AbortSignal
}

/** Open a request; resolves with the response once its headers are in. */
export async function openApi (target: ApiTarget, req: ApiRequest): Promise<IncomingMessage> {
  const url = new URL(req.path, target.tcp ?? 'http://ipms')
  const payload = req.body === undefined ? undefined : typeof req.body === 'string' || Buffer.isBuffer(req.body) ? req.body : JSON.stringify(req.body)
  const headers: Record<string, string> = {
    ...(target.cookie === undefined ? {} : { Authorization: `Bearer ${target.cookie}` }),
    ...(payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(payload)) }),
    ...req.headers
  }
  return await new Promise((resolve, reject) => {
    const r = request({ ...(target.tcp === undefined ? { socketPath: target.socket } : { host: url.hostname, port: url.port }), path: url.pathname + url.search, method: req.method ?? 'GET', headers, signal: req.signal }, resolve)
    r.on('error', reject)
    r.end(payload)
  })
}

export interface ApiAnswer { status: number, headers: IncomingHttpHeaders, text: string, json: any }

/** A whole answer; `json` is the parsed body (or, for NDJSON, the last line), undefined when not JSON. */
export async function callApi (target: ApiTarget, req: ApiRequest): Promise<ApiAnswer & { lines: any[] }> {
  const res = await openApi(target, req)
  const chunks: Buffer[] = []
  for await (const chunk of res) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  const lines = text.split('\n').filter(l => l !== '').map(l => { try { return JSON.parse(l) } catch { return undefined } })
  return { status: res.statusCode ?? 0, headers: res.headers, text, json: lines.at(-1), lines }
}

export interface SseEvent { id?: string, event: string, data: any }

/** A Server-Sent Events reader: `next(match)` waits for the next event `match` accepts (deadline `timeoutMs`). */
export interface SseReader {
  status: number
  /** Every event received so far. */
  events: SseEvent[]
  /** Events that `match` skips are passed over for good: wait for a set of events with one match. */
  next: (match?: (e: SseEvent) => boolean, timeoutMs?: number) => Promise<SseEvent>
  /** Wait until a `mail` event of each of `entries` has come (in any order); they are returned in `entries`' order. */
  mails: (entries: string[], timeoutMs?: number) => Promise<SseEvent[]>
  /** True once the server ended the stream. */
  ended: () => boolean
  close: () => void
}

export async function readEvents (target: ApiTarget, options: { lastEventId?: string, query?: string } = {}): Promise<SseReader> {
  const controller = new AbortController()
  const res = await openApi(target, { path: `/api/v1/events${options.query ?? ''}`, headers: options.lastEventId === undefined ? {} : { 'Last-Event-ID': options.lastEventId }, signal: controller.signal })
  const events: SseEvent[] = []
  let ended = false
  let wake: (() => void) | undefined
  let buffer = ''
  let consumed = 0
  res.setEncoding('utf8')
  res.on('data', (chunk: string) => {
    buffer += chunk
    let end: number
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const fields: Record<string, string> = {}
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue
        const at = line.indexOf(': ')
        if (at > 0) fields[line.slice(0, at)] = line.slice(at + 2)
      }
      if (fields.event !== undefined) events.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data ?? 'null') })
    }
    wake?.()
  })
  const onEnd = (): void => { ended = true; wake?.() }
  res.on('end', onEnd)
  res.on('error', onEnd)
  res.on('close', onEnd)
  const reader: SseReader = {
    status: res.statusCode ?? 0,
    events,
    ended: () => ended,
    next: async (match = () => true, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        while (consumed < events.length) {
          const e = events[consumed++]!
          if (match(e)) return e
        }
        const seen = (): string => JSON.stringify(events.map(e => e.event === 'error' ? e : e.event))
        if (ended) throw new Error(`the event stream ended; events: ${seen()}`)
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`no such event within ${timeoutMs} ms; events: ${seen()}`)
        await new Promise<void>(resolve => {
          const timer = setTimeout(resolve, left)
          wake = () => { clearTimeout(timer); resolve() }
        })
        wake = undefined
      }
    },
    close: () => { controller.abort() },
    mails: async () => []
  }
  reader.mails = async (entries, timeoutMs) => {
    const found = new Map<string, SseEvent>()
    while (found.size < new Set(entries).size) {
      const e = await reader.next(m => m.event === 'mail' && entries.includes(m.data.entry) && !found.has(m.data.entry), timeoutMs)
      found.set(e.data.entry, e)
    }
    return entries.map(entry => found.get(entry)!)
  }
  return reader
}
