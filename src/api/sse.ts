/**
 * `GET /api/v1/events` (docs/API.md, "Events"): the daemon's events as Server-Sent Events — each
 * as `id: N`, `event: TYPE`, `data: JSON` (the event's `time`, ms since the epoch, then its data). With `Last-Event-ID: N` (or `?since=N`) the kept events
 * after N come first, exactly once, then the live ones; when N is no longer kept (or is from an
 * earlier run of the daemon), one `reset` event (`data: {"last": M}`, id M) instead. A reader that
 * falls more than the kept events behind gets a `reset` too. A `: keep-alive` comment every 15 s;
 * the stream ends when the daemon stops.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { once } from 'node:events'
import type { DaemonEvents } from '../daemon/events.ts'
import { InvalidArgumentError } from '../errors.ts'
import { toJson } from '../cli/output.ts'

/** Default keep-alive comment interval, ms. */
export const SSE_KEEP_ALIVE_MS = 15_000

/** The id to resume after: `Last-Event-ID`, else `?since=`; undefined for live events only. InvalidArgumentError if not a whole number. */
export function resumeFrom (req: IncomingMessage, query: URLSearchParams): number | undefined {
  const header = req.headers['last-event-id']
  const given = typeof header === 'string' && header.trim() !== '' ? header.trim() : query.get('since') ?? undefined
  if (given === undefined) return undefined
  if (!/^\d{1,15}$/.test(given)) throw new InvalidArgumentError(`Last-Event-ID (or ?since) must be an event id, a whole number; not ${JSON.stringify(given.slice(0, 20))}`)
  return Number(given)
}

/** Serve the event stream until the daemon stops, the client goes, or `signal` aborts. */
export async function serveEvents (res: ServerResponse, events: DaemonEvents, options: { since?: number, signal: AbortSignal, keepAliveMs?: number }): Promise<void> {
  const gone = new AbortController()
  const signal = AbortSignal.any([options.signal, gone.signal])
  res.on('close', () => { gone.abort() })
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'X-Accel-Buffering': 'no' })
  res.flushHeaders()
  const write = async (text: string): Promise<void> => {
    if (res.write(text) || signal.aborted) return
    await once(res, 'drain', { signal }).catch(() => {})
  }
  const timer = setInterval(() => { if (!res.writableNeedDrain) res.write(': keep-alive\n\n') }, options.keepAliveMs ?? SSE_KEEP_ALIVE_MS)
  try {
    for await (const event of events.subscribe({ since: options.since, signal })) {
      if ('reset' in event) await write(`id: ${event.last}\nevent: reset\ndata: ${toJson({ last: event.last })}\n\n`)
      else await write(`id: ${event.id}\nevent: ${event.type}\ndata: ${toJson({ time: event.time, ...event.data })}\n\n`)
      if (signal.aborted) break
    }
  } finally {
    clearInterval(timer)
    if (!res.writableEnded) res.end()
  }
}
