/**
 * A Maildir (https://cr.yp.to/proto/maildir.html) of received mail under the home, for mail tools.
 *
 *   <home>/Maildir/{tmp,new,cur}/<seconds>.<entry hash>.<hostname>
 *
 * A message is written to tmp/ (a temp name with the writer's pid, util/temp-files.ts), fsync'd,
 * then renamed into new/; a mail reader later moves it to cur/ and appends flags (`:2,S`). The
 * unique part of the name is the MAIL entry's hash, so a mail stored twice (a crash between storing
 * and pruning) is written once: the names already in new/ and cur/ are read once per store and kept
 * in a set. At that first use, tmp/ is cleaned of what killed writers left: files of dead pids,
 * and anything older than 36 hours (the Maildir convention).
 */
import { mkdir, readdir, rename, rm } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { syncDirectory, writeTempSynced } from '../util/durable-files.ts'
import { removeStaleTemps } from '../util/temp-files.ts'

export const MAILDIR_NAME = 'Maildir'

export interface Maildir {
  readonly path: string
  /** Deliver a message for `entry` into new/ unless it is already there (or in cur/). True when written. */
  deliver: (entry: string, seconds: number, message: () => Promise<Uint8Array>) => Promise<boolean>
  /** Make the renames into new/ durable. */
  flush: () => Promise<void>
  /**
   * Remove the message of `entry` from new/ and cur/ (whatever flags a mail reader gave it), durably;
   * true when one was there. It is not delivered again by this Maildir.
   */
  remove: (entry: string) => Promise<boolean>
}

// Maildir names must not contain '/' or ':'; a hostname could.
const safeHost = hostname().replace(/[/:]/g, '_') || 'localhost'

export function openMaildir (home: string): Maildir {
  const path = join(home, MAILDIR_NAME)
  let known: Promise<Set<string>> | undefined

  const entriesPresent = async (): Promise<Set<string>> => {
    await Promise.all(['tmp', 'new', 'cur'].map(async d => await mkdir(join(path, d), { recursive: true, mode: 0o700 })))
    await removeStaleTemps(join(path, 'tmp'), { anyName: true })
    const names = [...await readdir(join(path, 'new')), ...await readdir(join(path, 'cur'))]
    return new Set(names.map(name => name.split('.')[1] ?? ''))
  }

  return {
    path,
    deliver: async (entry, seconds, message) => {
      known ??= entriesPresent()
      const present = await known
      if (present.has(entry)) return false
      present.add(entry)
      const name = `${Math.floor(seconds)}.${entry}.${safeHost}`
      // Written and fsync'd in tmp/, then moved into new/ as the Maildir protocol asks.
      try {
        await rename(await writeTempSynced(join(path, 'tmp'), name, await message()), join(path, 'new', name))
      } catch (err) {
        present.delete(entry)
        throw err
      }
      return true
    },
    flush: async () => { if (known !== undefined) await syncDirectory(join(path, 'new')) },
    remove: async (entry) => {
      const present = await (known ??= entriesPresent())
      present.add(entry)
      let removed = false
      for (const dir of ['new', 'cur']) {
        // `<seconds>.<entry>.<host>[:2,<flags>]`: the entry is the second dot-separated part.
        const names = (await readdir(join(path, dir))).filter(name => name.split('.')[1] === entry)
        for (const name of names) await rm(join(path, dir, name), { force: true })
        if (names.length > 0) {
          await syncDirectory(join(path, dir))
          removed = true
        }
      }
      return removed
    }
  }
}
