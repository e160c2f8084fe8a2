/**
 * A node's LevelDBs under one watch (docs/PROTOCOL.md §12.1): how the write a receipt depends on is
 * made durable, and what a full disk does to the node.
 *
 * - `durable`: the write options of the last write of a group into each LevelDB a receipt depends
 *   on (`sync: true`, one fdatasync of that LevelDB's log, which makes its earlier writes durable
 *   too). Off only for the benchmarks' baseline (`createNode({ durableWrites: false })`).
 * - `write(fn)`: a write whose failure on a full disk (ENOSPC) becomes a `StorageFullError`; the
 *   node is then "full": writes are refused at once (no work, a typed error) until a retry, at most
 *   every `retryMs`, reopens the node's LevelDBs and lets the write through.
 *
 * Why reopen: LevelDB keeps the first failed background write (a table written by a compaction,
 * or a failed log sync) as a sticky error and fails every later write with it, for ever, even once
 * space is back. Only a new `open()` clears it. Reads keep working meanwhile.
 *
 * Watch for: reopening closes every tracked LevelDB for a moment; a read that comes in between
 * fails (and is retried by its caller: a sync session, a later read). A LevelDB closed by its
 * owner must be untracked first (the function `track` returns), or it would be opened again.
 */
import { StorageFullError } from '../errors.ts'

/** Write options of a LevelDB write (classic-level's `sync`). */
export interface WriteOptions {
  sync: boolean
}

/** A LevelDB as abstract-level exposes it, as far as reopening goes. */
export interface Reopenable {
  readonly status: string
  open: (options?: any) => Promise<void>
  close: () => Promise<void>
}

export interface StorageHealthOptions {
  /** Sync the last write of each group (durable receipts). Default true. */
  durable?: boolean
  /** Least time between two attempts to reopen the LevelDBs while the disk is full, ms. Default 1 000. */
  retryMs?: number
  /** Where the stores live, for messages. */
  home?: string
}

export interface StorageHealth {
  /** Options for the last write of a group before a receipt: `{ sync: true }` unless durability is off. */
  readonly durable: WriteOptions
  /** True while a write failed for want of space and no reopen has succeeded since. */
  readonly full: boolean
  /** Reopen `db` (with `openOptions`) when recovering; returns the function that untracks it. */
  track: (db: Reopenable, openOptions?: object) => () => void
  /** Run a write: refused while full (unless a retry is due and succeeds); a full disk becomes StorageFullError. */
  write: <T>(fn: () => Promise<T>) => Promise<T>
  /** Try to recover now (reopen the LevelDBs); resolves with `!full`. */
  recover: () => Promise<boolean>
  /** 'full' (detail: the message) when writes start failing for space, 'recovered' when they work again. */
  readonly events: EventTarget
  /** Stop the background retries. */
  close: () => void
}

/** True when `err` (or one of its causes) says the disk is full: ENOSPC, or LevelDB's "No space left on device". */
export function isDiskFull (err: unknown): boolean {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof StorageFullError) return true
    if ((e as { code?: unknown }).code === 'ENOSPC') return true
    // LevelDB reports it as a string status, 'IO error: <file>: No space left on device'.
    const message = (e as { message?: unknown }).message
    if (typeof message === 'string' && message.includes('No space left on device')) return true
  }
  return false
}

/** `err` as a StorageFullError when it is one of a full disk, else `err` itself. */
export function asStorageFull (err: unknown, where: string): unknown {
  if (err instanceof StorageFullError || !isDiskFull(err)) return err
  return new StorageFullError(`The disk holding ${where} is full: nothing more can be stored until space is freed (the node retries by itself)`, { cause: err })
}

export function createStorageHealth (options: StorageHealthOptions = {}): StorageHealth {
  const durable: WriteOptions = { sync: options.durable ?? true }
  const retryMs = options.retryMs ?? 1000
  const where = options.home ?? 'this node\'s stores'
  const events = new EventTarget()
  const tracked = new Map<Reopenable, object | undefined>()
  let full = false
  let lastTry = 0
  let recovering: Promise<boolean> | undefined
  let timer: ReturnType<typeof setInterval> | undefined

  const becomeFull = (err: unknown): StorageFullError => {
    const error = asStorageFull(err, where) as StorageFullError
    lastTry = Date.now()
    if (!full) {
      full = true
      events.dispatchEvent(new CustomEvent('full', { detail: error.message }))
      // Retried in the background too, so that recovery does not wait for the next write.
      timer = setInterval(() => { recover().catch(() => {}) }, Math.max(retryMs, 1000))
      timer.unref()
    }
    return error
  }

  const reopenAll = async (): Promise<void> => {
    for (const [db, openOptions] of tracked) {
      if (db.status === 'open') await db.close()
      if (db.status === 'closed') await db.open(openOptions)
    }
  }

  const recover = async (): Promise<boolean> => {
    if (!full) return true
    recovering ??= (async () => {
      lastTry = Date.now()
      try {
        await reopenAll()
        full = false
        clearInterval(timer)
        events.dispatchEvent(new CustomEvent('recovered'))
      } catch (err) {
        if (!isDiskFull(err)) throw err
      } finally {
        recovering = undefined
      }
      return !full
    })()
    return await recovering
  }

  const refusal = (): StorageFullError => new StorageFullError(`The disk holding ${where} is full: nothing more can be stored until space is freed (the node retries by itself)`)

  return {
    durable,
    get full () { return full },
    events,
    track: (db, openOptions) => {
      tracked.set(db, openOptions)
      return () => { tracked.delete(db) }
    },
    write: async (fn) => {
      if (full && (Date.now() - lastTry < retryMs || !await recover().catch(() => false))) throw refusal()
      try {
        return await fn()
      } catch (err) {
        if (isDiskFull(err)) throw becomeFull(err)
        throw err
      }
    },
    recover: async () => await recover().catch(() => false),
    close: () => { clearInterval(timer) }
  }
}
