/**
 * One request of the local API after its caller was let in (docs/API.md): the route and method
 * (routes.ts), the body's size and type (body.ts), then the route's answer: JSON, NDJSON progress
 * (ndjson.ts), Server-Sent Events (sse.ts) or a file (an attachment, always as a download). Shared
 * by the API's own listeners (server.ts: the cookie) and the web inbox (web/server.ts: a session).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ForbiddenError, IpmsError, MalformedError, NotFoundError, type ErrorCode } from '../errors.ts'
import { API_PREFIX } from './api-files.ts'
import { readJsonBody } from './body.ts'
import { ndjsonStream, type NdjsonStream } from './ndjson.ts'
import { errorBody, sendError, sendJson } from './respond.ts'
import { findRoute, type ApiCall, type ApiContext } from './routes.ts'
import { resumeFrom, serveEvents } from './sse.ts'

export interface ApiHandlerOptions extends ApiContext {
  /** The daemon's life: aborts what requests are doing when it stops. */
  signal: AbortSignal
  /** A failure that is a bug (not an IpmsError), for the daemon's log. */
  onUnexpected?: (err: unknown) => void
  /** Server-Sent Events keep-alive interval, ms. */
  keepAliveMs?: number
}

/** How the caller was let in: with the API's cookie, or with a web inbox session (no `cookieOnly` routes). */
export type Caller = 'cookie' | 'session'

/** Answer `req` (already authenticated as `caller`). Throws only what the caller must answer itself (a bug). */
export function createApiHandler (options: ApiHandlerOptions): (req: IncomingMessage, res: ServerResponse, caller: Caller) => Promise<void> {
  const { signal } = options
  const context: ApiContext = { daemon: options.daemon, home: options.home, config: options.config }
  return async (req, res, caller) => {
    const refuse = (err: IpmsError, headers: Record<string, string> = {}): void => { sendError(res, err, { Connection: 'close', ...headers }) }
    const url = new URL(req.url ?? '/', 'http://ipms')
    const found = url.pathname.startsWith(`${API_PREFIX}/`) ? findRoute(req.method ?? '', url.pathname.slice(API_PREFIX.length)) : { missing: 'path' as const }
    if ('missing' in found) {
      if (found.missing === 'path') refuse(new NotFoundError(`No route ${url.pathname.slice(0, 200)}: see docs/API.md (routes start with ${API_PREFIX}/)`))
      else refuse(new IpmsError('ERR_METHOD_NOT_ALLOWED' satisfies ErrorCode, `${url.pathname} takes ${found.allow} only${found.allow === 'POST' ? ' (it changes state)' : ''}`), { Allow: found.allow })
      return
    }
    const { route, params } = found
    if (route.cookieOnly === true && caller !== 'cookie') {
      refuse(new ForbiddenError(`${url.pathname} is for local programs with the API cookie, not for the web inbox`))
      return
    }
    const gone = new AbortController()
    res.on('close', () => { if (!res.writableFinished) gone.abort() })
    const requestSignal = AbortSignal.any([signal, gone.signal])
    let body: Record<string, unknown>
    try {
      body = await readJsonBody(req, route.maxBody)
    } catch (err) {
      refuse(err instanceof IpmsError ? err : new MalformedError('The request body could not be read'))
      return
    }
    if (route.answer === 'sse') {
      const since = resumeFrom(req, url.searchParams)
      // Not cut by the daemon's stop: the stream gives `stopping` and `stopped`, then ends with the events.
      await serveEvents(res, context.daemon.events, { since, signal: gone.signal, keepAliveMs: options.keepAliveMs })
      return
    }
    const call: ApiCall = { params, query: url.searchParams, body, signal: requestSignal, progress: () => {} }
    if (route.answer === 'json') {
      sendJson(res, 200, { ok: true, ...await route.handle(call, context) })
      return
    }
    if (route.answer === 'file') {
      sendFile(res, await route.handle(call, context))
      return
    }
    // The stream begins with the first progress line: a request refused before (a bad field, an
    // unknown recipient) gets a plain answer with the status of its code.
    let stream: NdjsonStream | undefined
    call.progress = p => { (stream ??= ndjsonStream(res)).progress(p) }
    let final: Record<string, unknown>
    try {
      final = { ok: true, ...await route.handle(call, context) }
    } catch (err) {
      if (!(err instanceof IpmsError)) options.onUnexpected?.(err)
      if (stream === undefined) { sendError(res, err); return }
      final = errorBody(err)
    }
    await (stream ?? ndjsonStream(res)).end(final)
  }
}

/**
 * A file a mail carried: always a download of opaque bytes, whatever type the sender claimed, so
 * that an HTML attachment never runs as a page of this origin (nosniff, a sandbox CSP).
 */
function sendFile (res: ServerResponse, file: Record<string, unknown>): void {
  const data = file.data as Uint8Array
  const name = String(file.name)
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_')
  res.writeHead(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(data.byteLength),
    'Content-Disposition': `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`,
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': 'sandbox; default-src \'none\'',
    'Cache-Control': 'no-store'
  })
  res.end(data)
}
