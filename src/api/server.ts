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
import { ConfigError, IpmsError, UnauthorizedError } from '../errors.ts'
import { parseApiListen, type HomeConfig } from '../home/config.ts'
import type { Daemon } from '../daemon/daemon.ts'
import { API_SOCKET_FILE_NAME, newCookie, removeApiFiles, writeApiFiles, type ApiInfo } from './api-files.ts'
import { cookieMatches, tcpRequestProblem } from './auth.ts'
import { createApiHandler } from './handler.ts'
import { sendError } from './respond.ts'

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
  const routeRequest = createApiHandler({ daemon, home, config, signal, onUnexpected: options.onUnexpected, keepAliveMs: options.keepAliveMs })
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
    await routeRequest(req, res, 'cookie')
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
