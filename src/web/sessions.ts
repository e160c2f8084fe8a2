/**
 * Who may use the web inbox (README, "The web inbox"): a one-time login link that `ipms web`
 * prints (as Jupyter does), redeemed for a session cookie. Links live 10 minutes and work once;
 * sessions live 12 hours. Both are 256-bit random, kept only as their SHA-256 in this process's
 * memory: a restart logs everyone out.
 */
import { createHash, randomBytes } from 'node:crypto'

/** A login link's token lives this long, ms. */
export const LINK_TTL_MS = 10 * 60_000
/** A session lives this long, ms. */
export const SESSION_TTL_MS = 12 * 60 * 60_000
/** At most this many links or sessions at once (the oldest go first). */
const MAX_KEPT = 64
/** The session cookie's name. */
export const SESSION_COOKIE = 'ipms_session'

export interface WebSessions {
  /** A new one-time login token and when it expires. */
  newLink: () => { token: string, expires: number }
  /** A new session for a valid, unused token (which is then used up); undefined otherwise. */
  redeem: (token: string) => { session: string, expires: number } | undefined
  /** Does a request's `Cookie` header carry a live session? Never throws. */
  valid: (cookieHeader: unknown) => boolean
}

const digest = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex')
const secret = (): string => randomBytes(32).toString('hex')
const TOKEN = /^[0-9a-f]{64}$/

export function createWebSessions (now: () => number = Date.now): WebSessions {
  const links = new Map<string, number>()
  const sessions = new Map<string, number>()
  /** Forget what expired, and the oldest past MAX_KEPT (Maps keep insertion order). */
  const tidy = (kept: Map<string, number>): void => {
    for (const [key, expires] of kept) if (expires <= now()) kept.delete(key)
    while (kept.size > MAX_KEPT) kept.delete(kept.keys().next().value!)
  }
  return {
    newLink: () => {
      const token = secret()
      const expires = now() + LINK_TTL_MS
      links.set(digest(token), expires)
      tidy(links)
      return { token, expires }
    },
    redeem: token => {
      if (!TOKEN.test(token)) return undefined
      const key = digest(token)
      const expires = links.get(key)
      links.delete(key)
      if (expires === undefined || expires <= now()) return undefined
      const session = secret()
      const sessionExpires = now() + SESSION_TTL_MS
      sessions.set(digest(session), sessionExpires)
      tidy(sessions)
      return { session, expires: sessionExpires }
    },
    valid: cookieHeader => {
      if (typeof cookieHeader !== 'string' || cookieHeader.length > 8192) return false
      for (const part of cookieHeader.split(';')) {
        const [name, value] = part.trim().split('=', 2)
        if (name !== SESSION_COOKIE || value === undefined || !TOKEN.test(value)) continue
        const expires = sessions.get(digest(value))
        if (expires !== undefined && expires > now()) return true
      }
      return false
    }
  }
}
