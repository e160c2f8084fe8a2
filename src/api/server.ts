/**
 * The daemon's local API (docs/API.md): HTTP/1.1 with `node:http` on the Unix socket
 * `<home>/api.sock` (0600 in the 0700 home) and, when config `apiListen` says so, on a loopback TCP
 * port. Every request is checked in this order, each refusal before any work: the TCP listener's
 * `Host` and `Origin` (auth.ts), the cookie (auth.ts), the route and method (routes.ts), the body's
 * size and type (body.ts); then the route runs and answers JSON, NDJSON (ndjson.ts) or
 * Server-Sent Events (sse.ts). `<home>/api` and `<home>/api.cookie` (api-files.ts) are written
 * once it listens and removed when it closes.
 *
 * ```ts
 * const api = await startApiServer({ home, daemon, config, signal })
 * // curl --unix-socket ~/.ipms/api.sock -H "Authorization: Bearer $(cat ~/.ipms/api.cookie)" http://ipms/api/v1/id
 * await api.close(); await api.finish()
 * ```
 *
 * Watch out for: no framework (node:http does all this needs). `close()` stops new requests and
 * removes the files while the daemon still holds the home (a daemon started after must not lose
 * its own files to ours); `finish()` ends the connections left once the daemon's events are over.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { chmod, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { ConfigError, IpmsError, MalformedError, NotFoundError, UnauthorizedError, type ErrorCode } from '../errors.ts'
import { parseApiListen, type HomeConfig } from '../home/config.ts'
import type { Daemon } from '../daemon/daemon.ts'
import { API_PREFIX, API_SOCKET_FILE_NAME, newCookie, removeApiFiles, writeApiFiles, type ApiInfo } from './api-files.ts'
import { cookieMatches, tcpRequestProblem } from './auth.ts'
import { readJsonBody } from './body.ts'
import { ndjsonStream, type NdjsonStream } from './ndjson.ts'
import { errorBody, sendError, sendJson } from './respond.ts'
import { findRoute, type ApiCall, type ApiContext } from './routes.ts'
import { resumeFrom, serveEvents } from './sse.ts'

export { API_PREFIX } from './api-files.ts'

export interface ApiServerOptions {
  home: string
  daemon: Daemon
  config: HomeConfig
  /** "host:port" on loopback for the TCP listener (config `apiListen`). Default: none. */
  listen?: string
  /** The daemon's life: aborts what requests are doing when it stops. */
  signal: AbortSignal
  /** A failure that is a bug (not an IpmsError), for the daemon's log. */
  onUnexpected?: (err: unknown) => void
  /** Server-Sent Events keep-alive interval, ms. Default 15 000. */
  keepAliveMs?: number
}

export interface ApiServer {
  /** What `<home>/api` says. */
  info: ApiInfo
  /** The cookie of this start (also in `<home>/api.cookie`). */
  cookie: string
  /** Stop taking connections and remove `api`, `api.cookie` and the socket. Idempotent. */
  close: () => Promise<void>
  /** End the connections left (within `graceMs`, default 2 s, then cut). Call after close(). */
  finish: (graceMs?: number) => Promise<void>
}

async function listen (server: Server, target: { path: string } | { host: string, port: number }): Promise<void> {
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject)
    server.listen(target, () => { server.off('error', reject); resolveListen() })
  })
}

/** Start the API of a running daemon; resolves once it listens and the files are written. */
export async function startApiServer (options: ApiServerOptions): Promise<ApiServer> {
  const { home, daemon, config, signal } = options
  const cookie = newCookie()
  const context: ApiContext = { daemon, home, config }
  const socket = join(resolve(home), API_SOCKET_FILE_NAME)

  const handle = async (req: IncomingMessage, res: ServerResponse, tcpPort: number | undefined): Promise<void> => {
    const refuse = (err: IpmsError, headers: Record<string, string> = {}): void => { sendError(res, err, { Connection: 'close', ...headers }) }
    if (tcpPort !== undefined) {
      const problem = tcpRequestProblem(req.headers, tcpPort)
      if (problem !== undefined) { refuse(new IpmsError(problem.code, problem.message)); return }
    }
    if (!cookieMatches(req.headers.authorization, cookie)) {
      refuse(new UnauthorizedError(`Present the daemon's cookie: Authorization: Bearer <the content of ${join(home, 'api.cookie')}> (it changes at every start)`), { 'WWW-Authenticate': 'Bearer realm="ipms"' })
      return
    }
    const url = new URL(req.url ?? '/', 'http://ipms')
    const found = url.pathname.startsWith(`${API_PREFIX}/`) ? findRoute(req.method ?? '', url.pathname.slice(API_PREFIX.length)) : { missing: 'path' as const }
    if ('missing' in found) {
      if (found.missing === 'path') refuse(new NotFoundError(`No route ${url.pathname.slice(0, 200)}: see docs/API.md (routes start with ${API_PREFIX}/)`))
      else refuse(new IpmsError('ERR_METHOD_NOT_ALLOWED' satisfies ErrorCode, `${url.pathname} takes ${found.allow} only${found.allow === 'POST' ? ' (it changes state)' : ''}`), { Allow: found.allow })
      return
    }
    const { route, params } = found
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
      await serveEvents(res, daemon.events, { since, signal: gone.signal, keepAliveMs: options.keepAliveMs })
      return
    }
    if (route.answer === 'json') {
      const call: ApiCall = { params, query: url.searchParams, body, signal: requestSignal, progress: () => {} }
      const result = await route.handle(call, context)
      sendJson(res, 200, { ok: true, ...result })
      return
    }
    // The stream begins with the first progress line: a request refused before (a bad field, an
    // unknown recipient) gets a plain answer with the status of its code.
    let stream: NdjsonStream | undefined
    const progress: ApiCall['progress'] = p => { (stream ??= ndjsonStream(res)).progress(p) }
    let final: Record<string, unknown>
    try {
      final = { ok: true, ...await route.handle({ params, query: url.searchParams, body, signal: requestSignal, progress }, context) }
    } catch (err) {
      if (!(err instanceof IpmsError)) options.onUnexpected?.(err)
      if (stream === undefined) { sendError(res, err); return }
      final = errorBody(err)
    }
    await (stream ?? ndjsonStream(res)).end(final)
  }

  const serve = (tcpPort: () => number | undefined) => (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res, tcpPort()).catch((err: unknown) => {
      if (!(err instanceof IpmsError)) options.onUnexpected?.(err)
      if (!res.headersSent) sendError(res, err)
      else res.end()
    })
  }

  const servers: Server[] = []
  try {
    // A socket left by a daemon killed earlier: this process holds the home now, so it is stale.
    await rm(socket, { force: true })
    const unix = createServer(serve(() => undefined))
    servers.push(unix)
    try {
      await listen(unix, { path: socket })
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EINVAL' || code === 'ENAMETOOLONG') throw new ConfigError(`The API socket path ${socket} is too long for a Unix socket (about 100 bytes at most): use a home with a shorter path`, { cause: err })
      throw err
    }
    await chmod(socket, 0o600)
    const info: ApiInfo = { v: 1, socket, pid: process.pid }
    if (options.listen !== undefined) {
      const { host, port } = parseApiListen(options.listen)
      let bound = port
      const tcp = createServer(serve(() => bound))
      servers.push(tcp)
      try {
        await listen(tcp, { host, port })
      } catch (err) {
        throw new ConfigError(`The local API cannot listen on ${options.listen} (config "apiListen"): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}. Choose a free port, or remove "apiListen"`, { cause: err })
      }
      bound = (tcp.address() as { port: number }).port
      info.tcp = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`
    }
    await writeApiFiles(home, info, cookie)
    let closed: Promise<void> | undefined
    const ended = servers.map(server => new Promise<void>(resolveEnded => { server.once('close', () => { resolveEnded() }) }))
    return {
      info,
      cookie,
      close: async () => {
        closed ??= (async () => {
          for (const server of servers) server.close()
          await removeApiFiles(home)
        })()
        await closed
      },
      finish: async (graceMs = 2_000) => {
        const timer = setTimeout(() => { for (const server of servers) server.closeAllConnections() }, graceMs)
        await Promise.all(ended)
        clearTimeout(timer)
      }
    }
  } catch (err) {
    for (const server of servers) { server.close(); server.closeAllConnections() }
    await removeApiFiles(home)
    throw err
  }
}
