/**
 * Temporary files of the home (docs/PROTOCOL.md §13): how they are named, and how the ones left
 * behind by a killed process are cleaned up when their directory is opened again.
 *
 *   .<name>.<pid>.<random>.tmp     written by process <pid>, renamed to <name> once complete
 *
 * A temp file is stale, and removed, when the process that wrote it is gone (its pid is not alive)
 * or when it is older than 36 hours (the Maildir convention, which also covers a pid reused by an
 * unrelated process, and names without a pid from older versions). Maildir's `tmp/` belongs to
 * its writers as a whole: there, any file older than 36 hours goes too.
 *
 * Watch for: a temp file of this very process is never judged by its pid (another write of this
 * process may be under way); a file that vanishes during the sweep was renamed or removed by its
 * writer, which is fine.
 */
import { readdir, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { isProcessAlive } from './process.ts'

/** Age past which any temp file is stale, ms (Maildir: 36 hours). */
export const STALE_TEMP_MS = 36 * 60 * 60 * 1000

/** `.<name>.<pid>.<random>.tmp`: the name a temp file for `name` gets in this process. */
export function tempName (name: string): string {
  return `.${name}.${process.pid}.${Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(6))).toString('hex')}.tmp`
}

/** A temp file name made by `tempName` (or by older versions, without a pid). */
const TEMP = /^\..+\.tmp$/
/** The writer's pid in a `tempName`. */
const TEMP_PID = /\.(\d{1,10})\.[0-9a-f]{12}\.tmp$/

export interface StaleTempOptions {
  /** Also remove any other file older than `maxAgeMs` (Maildir's tmp/). Default false. */
  anyName?: boolean
  /** Default STALE_TEMP_MS. */
  maxAgeMs?: number
  /** The current time, ms (tests). Default Date.now(). */
  now?: number
}

/**
 * Remove the stale temp files of `directory`; resolves with the names removed. A missing
 * directory has none. Never throws: a file that cannot be looked at or removed is left.
 */
export async function removeStaleTemps (directory: string, options: StaleTempOptions = {}): Promise<string[]> {
  const maxAgeMs = options.maxAgeMs ?? STALE_TEMP_MS
  const now = options.now ?? Date.now()
  let names: string[]
  try {
    names = await readdir(directory)
  } catch {
    return []
  }
  const removed: string[] = []
  for (const name of names) {
    const temp = TEMP.test(name)
    if (!temp && options.anyName !== true) continue
    const pid = temp ? Number(TEMP_PID.exec(name)?.[1] ?? NaN) : NaN
    const writerGone = Number.isSafeInteger(pid) && pid !== process.pid && !isProcessAlive(pid)
    try {
      const info = await stat(join(directory, name))
      if (!info.isFile()) continue
      if (!writerGone && now - info.mtimeMs <= maxAgeMs) continue
      await unlink(join(directory, name))
      removed.push(name)
    } catch {
      // Gone already (its writer renamed it), or not ours to remove: leave it.
    }
  }
  return removed
}
