/**
 * Leases on outbox entries: one process at a time tries a given mail (docs/PROTOCOL.md §12, "The
 * outbox").
 *
 *   <home>/outbox/<envelope CID>.lease   JSON { pid, host, token, expires }
 *
 * Before it tries a mail, a process (a send, a retry, the daemon) takes the mail's lease; a mail
 * whose lease is held elsewhere is skipped, not waited for. So two processes never deliver one mail
 * at the same time (a host would append it twice), nor wait on each other's unreachable hosts.
 *
 * Watch out for:
 * - A lease is created as the home lock is (home-lock.ts): written to a temp file and `link`ed into
 *   place, so the creation is exclusive and a reader never sees half a lease; a stale one is
 *   removed by the same compare-and-delete.
 * - A lease is stale when its process is gone (kill -9), or past `expires`: its holder's attempt
 *   cannot last longer (its hosts × its timeout, and a margin), so a stopped (SIGSTOP) or hung
 *   process, or a pid since reused by another process, holds a mail no longer than that.
 * - A lease naming this process is held only while this process holds it (a restart can reuse a
 *   pid; two outboxes in one process must not both try a mail either).
 * - Leases are not fsync'd: after a crash every lease names a dead process, so all are stale.
 */
import { link, mkdir, rename, unlink, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { isProcessAlive } from '../util/process.ts'
import { tempName } from '../util/temp-files.ts'
import { readLock, removeIfSame } from './home-lock.ts'

/** A held lease on one outbox entry. */
export interface OutboxLease {
  /** Extend the lease to `durationMs` from now (before a step that may take long). Never throws. */
  renew: (durationMs: number) => Promise<void>
  /** Remove the lease if it is still ours. Idempotent; never throws. */
  release: () => Promise<void>
}

interface LeaseContent {
  pid: number
  host: string
  token: string
  /** Wall-clock ms after which the lease is stale whatever its process. */
  expires: number
}

/** Tokens of the leases this process holds (or is taking). */
const heldTokens = new Set<string>()

/** How many times a stale lease is removed and the exclusive creation retried before giving up. */
const MAX_TAKEOVERS = 8

/**
 * Take the lease of entry `id` in `directory` for `durationMs`; undefined when another live holder
 * has it (the caller skips the entry).
 */
export async function takeLease (directory: string, id: string, durationMs: number, now: () => number = Date.now): Promise<OutboxLease | undefined> {
  await mkdir(directory, { recursive: true, mode: 0o700 })
  const path = join(directory, `${id}.lease`)
  const token = randomBytes(16).toString('hex')
  const tmp = join(directory, tempName(`${id}.lease`))
  await writeFile(tmp, leaseText(token, now() + durationMs), { mode: 0o600 })
  heldTokens.add(token)
  let taken = false
  try {
    for (let attempt = 0; attempt < MAX_TAKEOVERS; attempt++) {
      try {
        await link(tmp, path)
        taken = true
        return heldLease(path, tmp, token, now)
      } catch (err) {
        if (codeOf(err) !== 'EEXIST') throw err
      }
      const current = await readLock(path, parseLease)
      if (current === undefined) continue // released meanwhile: try again
      if (current.content !== undefined && isHeld(current.content, now())) return undefined
      await removeIfSame(path, current.ino)
    }
    return undefined // others keep taking it: it is theirs
  } finally {
    if (!taken) heldTokens.delete(token)
    await unlink(tmp).catch(() => {})
  }
}

function heldLease (path: string, tmp: string, token: string, now: () => number): OutboxLease {
  const ours = async (): Promise<boolean> => heldTokens.has(token) && (await readLock(path, parseLease))?.content?.token === token
  return {
    renew: async durationMs => {
      try {
        if (!await ours()) return
        await writeFile(tmp, leaseText(token, now() + durationMs), { mode: 0o600 })
        await rename(tmp, path) // atomic: a reader sees the old lease or the new one
      } catch {
        // The lease stays as it was: at worst another process tries the mail after it expires.
      }
    },
    release: async () => {
      try {
        if (await ours()) await unlink(path)
      } catch {
        // Already gone, or unreadable: nothing of ours to remove.
      } finally {
        heldTokens.delete(token)
      }
    }
  }
}

function isHeld (lease: LeaseContent, now: number): boolean {
  if (lease.expires <= now) return false
  // `host` is not compared, as for the home lock: a recreated container gets a new host name.
  if (lease.pid === process.pid) return heldTokens.has(lease.token)
  return isProcessAlive(lease.pid)
}

const leaseText = (token: string, expires: number): string =>
  JSON.stringify({ pid: process.pid, host: hostname(), token, expires } satisfies LeaseContent) + '\n'

function parseLease (text: string): LeaseContent | undefined {
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value !== 'object' || value === null) return undefined
    const { pid, host, token, expires } = value as Record<string, unknown>
    if (!Number.isSafeInteger(pid) || (pid as number) <= 0 || !Number.isSafeInteger(expires)) return undefined
    if (typeof host !== 'string' || typeof token !== 'string') return undefined
    return { pid: pid as number, host, token, expires: expires as number }
  } catch {
    return undefined
  }
}

function codeOf (err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code
}
