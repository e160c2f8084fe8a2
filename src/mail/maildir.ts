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
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
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
  /**
   * What the mail tools made of each message: entry → its state, from the names in new/ and cur/
   * (`:2,<flags>`, https://cr.yp.to/proto/maildir.html). Undefined when there is no Maildir.
   */
  states: () => Promise<Map<string, MaildirState> | undefined>
  /**
   * Add a flag to `entry`'s message, as a mail reader does: `S` seen, `R` replied, `F` flagged
   * (new/ → cur/ with the flag; other flags kept). False when it is not there or has it already.
   */
  addFlag: (entry: string, flag: 'S' | 'R' | 'F') => Promise<boolean>
}

/** A message's state in the Maildir. */
export interface MaildirState {
  /** `S`: read. A message still in new/ is unread. */
  seen: boolean
  /** `F`: flagged (starred). */
  flagged: boolean
  /** `R`: replied to. */
  replied: boolean
  /** `T`: trashed, to be deleted at the reader's next expunge. */
  trashed: boolean
}

/** The entry a Maildir file name stands for (`<seconds>.<entry>.<host>[:2,<flags>]`). */
const entryOf = (name: string): string => name.split('.')[1] ?? ''
/** The flags of a name in cur/ (`:2,FS`), '' for none. */
const flagsOf = (name: string): string => /:2,([A-Za-z]*)$/.exec(name)?.[1] ?? ''

// Maildir names must not contain '/' or ':'; a hostname could.
const safeHost = hostname().replace(/[/:]/g, '_') || 'localhost'

const exists = async (path: string): Promise<boolean> => await stat(path).then(() => true, () => false)

/** The Maildir++ folder of sent mail (`<home>/Maildir/.Sent`), as mutt, notmuch and Thunderbird name it. */
export const SENT_FOLDER = '.Sent'

export interface MaildirOptions {
  /** A Maildir++ sub-folder (`.Sent`) instead of the inbox. */
  folder?: string
  /** Deliver as already read: into cur/ with `:2,S` (sent mail), not into new/. */
  seen?: boolean
}

export function openMaildir (home: string, options: MaildirOptions = {}): Maildir {
  const path = options.folder === undefined ? join(home, MAILDIR_NAME) : join(home, MAILDIR_NAME, options.folder)
  let known: Promise<Set<string>> | undefined

  const entriesPresent = async (): Promise<Set<string>> => {
    await Promise.all(['tmp', 'new', 'cur'].map(async d => await mkdir(join(path, d), { recursive: true, mode: 0o700 })))
    // Maildir++: a sub-folder says it is one (Courier and Dovecot look for this file).
    if (options.folder !== undefined) await writeFile(join(path, 'maildirfolder'), '', { flag: 'a', mode: 0o600 })
    await removeStaleTemps(join(path, 'tmp'), { anyName: true })
    const names = [...await readdir(join(path, 'new')), ...await readdir(join(path, 'cur'))]
    return new Set(names.map(entryOf))
  }
  /** The names in `dir` (new or cur); none when it does not exist. */
  const namesIn = async (dir: string): Promise<string[]> => await readdir(join(path, dir)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return []
    throw err
  })

  return {
    path,
    deliver: async (entry, seconds, message) => {
      known ??= entriesPresent()
      const present = await known
      if (present.has(entry)) return false
      present.add(entry)
      const name = `${Math.floor(seconds)}.${entry}.${safeHost}`
      // Written and fsync'd in tmp/, then moved into new/ as the Maildir protocol asks (cur/, read, for sent mail).
      try {
        await rename(await writeTempSynced(join(path, 'tmp'), name, await message()), options.seen === true ? join(path, 'cur', `${name}:2,S`) : join(path, 'new', name))
      } catch (err) {
        present.delete(entry)
        throw err
      }
      return true
    },
    flush: async () => { if (known !== undefined) await syncDirectory(join(path, options.seen === true ? 'cur' : 'new')) },
    remove: async (entry) => {
      const present = await (known ??= entriesPresent())
      present.add(entry)
      let removed = false
      for (const dir of ['new', 'cur']) {
        // `<seconds>.<entry>.<host>[:2,<flags>]`: the entry is the second dot-separated part.
        const names = (await namesIn(dir)).filter(name => entryOf(name) === entry)
        for (const name of names) await rm(join(path, dir, name), { force: true })
        if (names.length > 0) {
          await syncDirectory(join(path, dir))
          removed = true
        }
      }
      return removed
    },
    states: async () => {
      const [fresh, current] = await Promise.all([namesIn('new'), namesIn('cur')])
      if (fresh.length === 0 && current.length === 0 && !await exists(path)) return undefined
      const states = new Map<string, MaildirState>()
      for (const name of fresh) states.set(entryOf(name), { seen: false, flagged: false, replied: false, trashed: false })
      for (const name of current) {
        const flags = flagsOf(name)
        states.set(entryOf(name), { seen: flags.includes('S'), flagged: flags.includes('F'), replied: flags.includes('R'), trashed: flags.includes('T') })
      }
      return states
    },
    addFlag: async (entry, flag) => {
      const fresh = (await namesIn('new')).find(name => entryOf(name) === entry)
      if (fresh !== undefined) {
        // A reader moving a message out of new/ keeps its name and adds the info part.
        await rename(join(path, 'new', fresh), join(path, 'cur', `${fresh.replace(/:2,.*$/, '')}:2,${flag}`))
        await Promise.all([syncDirectory(join(path, 'new')), syncDirectory(join(path, 'cur'))])
        return true
      }
      const current = (await namesIn('cur')).find(name => entryOf(name) === entry)
      if (current === undefined || flagsOf(current).includes(flag)) return false
      // Flags stay in ASCII order, as the Maildir convention asks.
      const flags = [...flagsOf(current), flag].sort().join('')
      await rename(join(path, 'cur', current), join(path, 'cur', `${current.replace(/:2,[A-Za-z]*$/, '')}:2,${flags}`))
      await syncDirectory(join(path, 'cur'))
      return true
    }
  }
}
