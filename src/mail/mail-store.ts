/**
 * The owner's local copy of received mail, in the IPMS home (docs/ARCHITECTURE.md, mail).
 *
 *   <home>/mail/received/<entry hash>.cbor      dag-cbor { v: 1, entry, env, receivedAt, mail }
 *   <home>/mail/quarantine/<entry hash>.cbor    dag-cbor { v: 1, entry, env, receivedAt, code, reason, envelope }
 *   <home>/Maildir/new/<s>.<entry hash>.<host>  the same received mail as an RFC 5322 message
 *
 * A mail is written here, durably, before the hosts are told to drop it: a temporary file,
 * fsync'd and renamed into place; `flush()` then fsyncs the directories once for the whole batch.
 * Files are named by the MAIL entry's hash, so storing the same mail twice (a crash between
 * storing and pruning) is harmless.
 * Envelopes that fail to open are kept whole in quarantine with the reason, never dropped: a bug
 * or a newer format can still be read later.
 * At its first use, a store removes the temp files that killed writers left in its directories
 * (util/temp-files.ts: a dead writer's pid, or older than 36 hours).
 */
import { rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { FORMAT_VERSION } from '../constants.ts'
import type { Mail } from './mail.ts'
import { readCborFiles, syncDirectory, writeFileSynced } from '../util/durable-files.ts'
import { removeStaleTemps } from '../util/temp-files.ts'
import { openMaildir } from './maildir.ts'
import { renderMessage } from './rfc5322.ts'

export interface StoredMail {
  v: 1
  /** Hash of the MAIL entry that carried it. */
  entry: string
  /** Envelope CID. */
  env: string
  /** When this node stored it, ms since the epoch. */
  receivedAt: number
  mail: Mail
}

export interface QuarantinedMail {
  v: 1
  entry: string
  env: string
  receivedAt: number
  /** The error code that refused it (ERR_BAD_SIGNATURE, ERR_MISADDRESSED …). */
  code: string
  reason: string
  /** The envelope block, as received. */
  envelope: Uint8Array
}

const RECEIVED = 'received'
const QUARANTINE = 'quarantine'

export interface MailStore {
  /** Store an opened mail durably. */
  saveReceived: (entry: string, env: string, mail: Mail) => Promise<StoredMail>
  /** Store an envelope that did not open, with why. */
  saveQuarantined: (entry: string, env: string, envelope: Uint8Array, code: string, reason: string) => Promise<QuarantinedMail>
  /** Received mail, newest first (by the mail's date). */
  received: () => Promise<StoredMail[]>
  quarantined: () => Promise<QuarantinedMail[]>
  /** Make every save so far durable (fsync the directories): call before telling hosts to prune. */
  flush: () => Promise<void>
  /**
   * Delete a received mail here: its Maildir message first, then its stored copy, each durably (a
   * crash between leaves it listed by `ipms list`, where deleting it again finishes the job).
   * Its hosts dropped it when it was read, so it does not come back. False when it was not here.
   */
  removeReceived: (entry: string) => Promise<boolean>
}

export interface MailStoreOptions {
  /** Also write each received mail into `<home>/Maildir` (default true). */
  maildir?: boolean
  /** The display name of a sender in the Maildir's From header (the owner's petname for them). */
  nameOf?: (peer: string) => Promise<string | undefined>
}

/** The mail store of an IPMS home (directories created 0700 on first use). */
export function openMailStore (home: string, options: MailStoreOptions = {}): MailStore {
  const root = join(home, 'mail')
  const ensure = (name: string): string => join(root, name)
  const maildir = options.maildir === false ? undefined : openMaildir(home)
  let cleaned: Promise<unknown> | undefined
  /** Once per store, before its first read or write: the leftovers of killed writers go. */
  const opened = async (): Promise<void> => { await (cleaned ??= Promise.all([RECEIVED, QUARANTINE].map(async d => await removeStaleTemps(join(root, d))))) }
  return {
    saveReceived: async (entry, env, mail) => {
      await opened()
      const stored: StoredMail = { v: FORMAT_VERSION, entry, env, receivedAt: Date.now(), mail }
      await writeFileSynced(ensure(RECEIVED), `${entry}.cbor`, dagCbor.encode(stored))
      await maildir?.deliver(entry, stored.receivedAt / 1000, async () => await renderMessage(stored, { fromName: await options.nameOf?.(mail.from) }))
      return stored
    },
    saveQuarantined: async (entry, env, envelope, code, reason) => {
      await opened()
      const stored: QuarantinedMail = { v: FORMAT_VERSION, entry, env, receivedAt: Date.now(), code, reason, envelope }
      await writeFileSynced(ensure(QUARANTINE), `${entry}.cbor`, dagCbor.encode(stored))
      return stored
    },
    received: async () => {
      await opened()
      return (await readCborFiles<StoredMail>(join(root, RECEIVED))).sort((a, b) => b.mail.date - a.mail.date)
    },
    quarantined: async () => {
      await opened()
      return await readCborFiles<QuarantinedMail>(join(root, QUARANTINE))
    },
    removeReceived: async (entry) => {
      await opened()
      await maildir?.remove(entry)
      const path = join(ensure(RECEIVED), `${entry}.cbor`)
      const there = await stat(path).then(() => true, (err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return false; throw err })
      if (!there) return false
      await rm(path)
      await syncDirectory(ensure(RECEIVED))
      return true
    },
    flush: async () => {
      await maildir?.flush()
      for (const name of [RECEIVED, QUARANTINE]) {
        try {
          await syncDirectory(ensure(name))
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err // nothing was stored there
        }
      }
    }
  }
}
