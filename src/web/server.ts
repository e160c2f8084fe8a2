/**
 * The web inbox (README, "The web inbox"; docs/API.md, "The web inbox"): plain HTML, CSS and ES
 * modules (src/web/static/, no build step) served by the daemon on a loopback TCP port, talking
 * to the same routes as the local API (api/handler.ts) with a session cookie instead of the API
 * cookie. Checked in this order, before any work: `Host` and `Origin` (a page of another site, a
 * DNS name rebound to 127.0.0.1), then the session; `/login?token=` turns a one-time link into a
 * session (sessions.ts). Pages carry a strict Content-Security-Policy (own scripts and styles
 * only, no inline code, no frames): a mail's text is shown as text by the page, and this is the
 * second wall if a page ever got that wrong.
 */
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { API_PREFIX } from '../api/api-files.ts'
import { tcpRequestProblem } from '../api/auth.ts'
import type { Caller } from '../api/handler.ts'
import { sendError } from '../api/respond.ts'
import { ConfigError, IpmsError, NotFoundError, UnauthorizedError } from '../errors.ts'
import { parseApiListen } from '../home/config.ts'
import { createWebSessions, SESSION_COOKIE } from './sessions.ts'

/** The page's files, by path: read once at start. */
const STATIC_FILES: Record<string, { file: string, type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/view.js': { file: 'view.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  '/icon.svg': { file: 'icon.svg', type: 'image/svg+xml' }
}
/** From src/web/ or dist/web/ alike: the files live in the sources. */
const STATIC_DIR = new URL('../../src/web/static/', import.meta.url)

const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store'
}

export interface WebServerOptions {
  /** "host:port" on loopback (config `web`; port 0: any free one). */
  listen: string
  /** The API's request handler (api/handler.ts). */
  handle: (req: IncomingMessage, res: ServerResponse, caller: Caller) => Promise<void>
  /** A failure that is a bug, for the daemon's log. */
  onUnexpected?: (err: unknown) => void
}

export interface WebServer {
  /** Where it listens, e.g. http://127.0.0.1:5180 */
  url: string
  /** A one-time login link (10 minutes). */
  link: () => { url: string, expires: number }
  close: () => Promise<void>
}

export async function startWebServer (options: WebServerOptions): Promise<WebServer> {
  const { host, port: wanted } = parseApiListen(options.listen, 'the web inbox address', 'web')
  const sessions = createWebSessions()
  const files = new Map<string, { body: Buffer, type: string }>()
  for (const [path, { file, type }] of Object.entries(STATIC_FILES)) files.set(path, { body: await readFile(new URL(file, STATIC_DIR)), type })
  let port = wanted

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const problem = tcpRequestProblem(req.headers, port)
    if (problem !== undefined) { sendError(res, new IpmsError(problem.code, problem.message), { Connection: 'close' }); return }
    const url = new URL(req.url ?? '/', 'http://ipms')
    if (url.pathname === '/login' && req.method === 'GET') {
      const redeemed = sessions.redeem(url.searchParams.get('token') ?? '')
      if (redeemed === undefined) {
        res.writeHead(401, { ...PAGE_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' })
        res.end('This login link was used already or has expired. Run `ipms web` for a new one.\n')
        return
      }
      // The token leaves the address bar (and the history) at once.
      res.writeHead(303, { ...PAGE_HEADERS, Location: '/', 'Set-Cookie': `${SESSION_COOKIE}=${redeemed.session}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor((redeemed.expires - Date.now()) / 1000)}` })
      res.end()
      return
    }
    if (url.pathname.startsWith(`${API_PREFIX}/`)) {
      if (!sessions.valid(req.headers.cookie)) { sendError(res, new UnauthorizedError('Log in first: run `ipms web` and open the link it prints'), { Connection: 'close' }); return }
      await options.handle(req, res, 'session')
      return
    }
    const file = files.get(url.pathname)
    if (file === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) { sendError(res, new NotFoundError(`No page ${url.pathname.slice(0, 200)}`)); return }
    res.writeHead(200, { ...PAGE_HEADERS, 'Content-Type': file.type, 'Content-Length': String(file.body.byteLength) })
    res.end(req.method === 'HEAD' ? undefined : file.body)
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!(err instanceof IpmsError)) options.onUnexpected?.(err)
      if (!res.headersSent) sendError(res, err)
      else res.end()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new ConfigError(`The web inbox cannot listen on ${options.listen}: ${err.code === 'EADDRINUSE' ? 'the port is taken' : err.code ?? err.message}. Choose another port (--web 127.0.0.1:PORT, or "web" in config.json)`, { cause: err }))
    })
    server.listen({ host, port: wanted }, () => { resolve() })
  })
  port = (server.address() as { port: number }).port
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  let closed: Promise<void> | undefined
  return {
    url: base,
    link: () => {
      const { token, expires } = sessions.newLink()
      return { url: `${base}/login?token=${token}`, expires }
    },
    close: async () => {
      closed ??= new Promise<void>(resolve => {
        server.close(() => { resolve() })
        server.closeAllConnections()
      })
      await closed
    }
  }
}
