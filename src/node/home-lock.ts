/**
 * The home lock: at most one running node per IPMS home.
 *
 * `<home>/lock` holds `{pid, host, token}` of the process that runs a node on the home. A second
 * node on the same home (another process, e.g. a CLI command while the daemon runs, or a second
 * `createNode` in this process) gets a `HomeInUseError` that names the pid and says what to do.
 * A lock left by a process that no longer exists (kill -9, crash, power loss) is taken over.
 *
 * Watch out for:
 * - The lock file is created by `link(tmp, lock)`: the creation is exclusive (EEXIST if a lock
 *   exists) and the file is complete the instant it appears, so a reader never sees a half-written
 *   pid (which `open(path, 'wx')` followed by a write would allow).
 * - A stale lock is removed by compare-and-delete: rename it to a private name, check it is still
 *   the file judged stale (same inode), delete it, then create ours exclusively. Two processes
 *   taking over the same stale lock cannot both win the `link`.
 * - A pid can be reused: a stale lock naming a pid that now belongs to an unrelated live process
 *   reads as "in use"; the error message says how to clear it. A lock naming this very process
 *   but not held by it (a restart that got the same pid, common in containers) is stale.
 * - This lock is advisory and for the message; the LevelDB stores inside the home also hold
 *   kernel (fcntl) locks, released when a process dies, which back it up against races.
 * - A caller may wait, bounded, for a live holder to let go (`ipms sync` waits for another
 *   `ipms sync`, but not for a daemon: `waitFor` decides). The lock file is polled: its removal
 *   is the event, and a poll also sees a holder that died without removing it.
 */
import { link, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { setTimeout as pause } from 'node:timers/promises'
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { AbortError, HomeInUseError } from '../errors.ts'
import { isProcessAlive } from '../util/process.ts'

/** Name of the lock file inside the home. */
export const HOME_LOCK_FILE_NAME = 'lock'

/** A held home lock. */
export interface HomeLock {
  /** Absolute path of the lock file. */
  readonly path: string
  /** Remove the lock file if it is still ours. Idempotent; never throws. */
  release(): Promise<void>
}

interface LockContent {
  pid: number
  host: string
  token: string
}

/**
 * Tokens of the locks this process holds or is creating: a lock naming this pid with a token not
 * in here is a stale one left by an earlier process that had the same pid. Added before the
 * `link`, so a concurrent `createNode` in this process never mistakes a fresh lock for stale.
 */
const ownTokens = new Set<string>()

/** How many times a stale lock is removed and the exclusive creation retried before giving up. */
const MAX_ATTEMPTS = 8
/** How often a waiting caller looks at the lock again, ms. */
const WAIT_POLL_MS = 200

/** Waiting for a live holder of the lock to let go, instead of failing at once. */
export interface HomeLockWait {
  /** How long to wait at most, ms. */
  timeoutMs: number
  /** Whether to wait for this holder (asked at each look; default yes). No: `HomeInUseError` at once. */
  waitFor?: (holder: { pid: number }) => boolean | Promise<boolean>
  /** Called once, when the wait begins (e.g. to tell the user who is waited for). */
  onWait?: (holder: { pid: number }) => void
  /** Stops the wait (AbortError). */
  signal?: AbortSignal
}

/**
 * Take the lock of `home` (which must exist). `HomeInUseError` if a live process holds it (after
 * `wait.timeoutMs`, when given and `wait.waitFor` accepts the holder).
 */
export async function acquireHomeLock (home: string, wait?: HomeLockWait): Promise<HomeLock> {
  const path = join(home, HOME_LOCK_FILE_NAME)
  const token = randomBytes(16).toString('hex')
  const content: LockContent = { pid: process.pid, host: hostname(), token }
  const tmp = `${path}.${token}.tmp`
  await writeFile(tmp, JSON.stringify(content) + '\n', { mode: 0o600 })
  ownTokens.add(token)
  let acquired = false
  try {
    const deadline = Date.now() + (wait?.timeoutMs ?? 0)
    let waiting = false
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      try {
        await link(tmp, path)
        acquired = true
        return { path, release: async () => { await releaseLock(path, token) } }
      } catch (err) {
        if (codeOf(err) !== 'EEXIST') throw err
      }
      const current = await readLock(path, parseLock)
      if (current === undefined) continue // removed meanwhile: try again
      if (current.content !== undefined && isHeld(current.content)) {
        const holder = current.content
        if (wait === undefined || holder.pid === process.pid || Date.now() >= deadline || !await (wait.waitFor?.(holder) ?? true)) throw inUse(home, path, holder, waiting)
        if (!waiting) wait.onWait?.(holder)
        waiting = true
        await pause(Math.min(WAIT_POLL_MS, Math.max(0, deadline - Date.now())), undefined, { signal: wait.signal }).catch(() => {
          throw new AbortError('Interrupted while waiting for the home lock')
        })
        attempt = -1 // a live holder is not a race with stale locks: the attempts start again
        continue
      }
      await removeIfSame(path, current.ino)
    }
    throw new HomeInUseError(`Could not take the lock ${path} of the IPMS home ${home}: other processes keep creating it`)
  } finally {
    if (!acquired) ownTokens.delete(token)
    await unlink(tmp).catch(() => {})
  }
}

function inUse (home: string, path: string, holder: LockContent, waited = false): HomeInUseError {
  if (holder.pid === process.pid) {
    return new HomeInUseError(`The IPMS home ${home} is already open in this process: stop that node first, or use another home.`)
  }
  const where = holder.host === hostname() ? '' : ` on host ${holder.host}`
  return new HomeInUseError(
    `The IPMS home ${home} is in use by process ${holder.pid}${where} (another ipms node, e.g. the daemon)${waited ? ', still after waiting for it' : ''}. ` +
    `Stop that process first, or use another home. If no ipms is running, the lock is stale: delete ${path}.`)
}

/**
 * Whether the lock described by `content` belongs to a live node. Unparseable content cannot come
 * from this module (lock files appear complete), so the caller treats it as stale.
 */
function isHeld (content: LockContent): boolean {
  // `host` is not compared: a container recreated on the same volume gets a new host name, and
  // its old lock must still read as stale. (Homes on disks shared between machines are not supported.)
  if (content.pid === process.pid) return ownTokens.has(content.token)
  return isProcessAlive(content.pid)
}

/** A lock file's parsed content (undefined content if unparseable) and inode; undefined if absent. */
export async function readLock<T> (path: string, parse: (text: string) => T | undefined): Promise<{ content: T | undefined, ino: number } | undefined> {
  let handle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return undefined
    throw err
  }
  try {
    const { ino } = await handle.stat()
    const text = await handle.readFile('utf8')
    return { content: parse(text), ino }
  } finally {
    await handle.close()
  }
}

function parseLock (text: string): LockContent | undefined {
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value !== 'object' || value === null) return undefined
    const { pid, host, token } = value as Record<string, unknown>
    if (!Number.isSafeInteger(pid) || (pid as number) <= 0) return undefined
    if (typeof host !== 'string' || typeof token !== 'string') return undefined
    return { pid: pid as number, host, token }
  } catch {
    return undefined
  }
}

/** Delete the lock file if it is still the file with inode `ino` (compare-and-delete). */
export async function removeIfSame (path: string, ino: number): Promise<void> {
  const aside = `${path}.${randomBytes(8).toString('hex')}.stale`
  try {
    await rename(path, aside)
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return // someone else removed it
    throw err
  }
  const moved = await stat(aside)
  if (moved.ino !== ino) {
    // Another process replaced the stale lock with its live one in between: put it back.
    await link(aside, path).catch(() => {})
  }
  await unlink(aside).catch(() => {})
}

async function releaseLock (path: string, token: string): Promise<void> {
  if (!ownTokens.delete(token)) return
  try {
    const current = parseLock(await readFile(path, 'utf8'))
    if (current?.token === token) await unlink(path)
  } catch {
    // Already gone, or unreadable: nothing of ours to remove.
  }
}

function codeOf (err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code
}
