/**
 * Who may use the daemon's local API (docs/API.md, "Security"): every request presents the
 * cookie of the running daemon (`Authorization: Bearer <cookie>`, compared in constant time); on
 * the TCP listener, the `Host` header must name the listener on loopback (a page whose DNS name
 * was rebound to 127.0.0.1 sends its own name) and an `Origin` header, when there is one, must be
 * the listener itself (a page of another site). Both checks run before the body is read or any
 * work is done. Never throw: they see whatever a local program sends.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { Problem } from '../errors.ts'

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest()

/**
 * True when `authorization` is `Bearer <cookie>`. Hashing both sides first makes the comparison
 * constant-time whatever the length given. Never throws.
 */
export function cookieMatches (authorization: unknown, cookie: string): boolean {
  if (typeof authorization !== 'string' || authorization.length > 1024) return false
  const match = /^Bearer ([0-9a-f]{1,128})$/i.exec(authorization.trim())
  return timingSafeEqual(digest(match?.[1] ?? ''), digest(cookie)) && match !== null
}

/** The `Host` values a request to the TCP listener on `port` may carry. */
const hostsFor = (port: number): Set<string> => new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`])

/** The `Origin` values it may carry (a page served by the listener itself). */
const originsFor = (port: number): Set<string> => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`])

/** What is wrong with a request to the TCP listener on `port` (Host, Origin), or undefined. Never throws. */
export function tcpRequestProblem (headers: IncomingHttpHeaders, port: number): Problem<'ERR_FORBIDDEN'> | undefined {
  const host = headers.host
  if (typeof host !== 'string' || !hostsFor(port).has(host.toLowerCase())) {
    return { code: 'ERR_FORBIDDEN', message: `The Host header must be 127.0.0.1:${port}, localhost:${port} or [::1]:${port} (a request through another name is refused: DNS rebinding)` }
  }
  const origin = headers.origin
  if (origin !== undefined && (typeof origin !== 'string' || !originsFor(port).has(origin.toLowerCase()))) {
    return { code: 'ERR_FORBIDDEN', message: 'Requests from web pages of other origins are refused: call the API from a local program, without an Origin header' }
  }
  return undefined
}
