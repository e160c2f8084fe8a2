/**
 * The owner's local copy of received mail, in the IPMS home (docs/ARCHITECTURE.md, mail).
 *
 *   <home>/mail/received/<entry hash>.cbor      dag-cbor { v: 1, entry, env, receivedAt, mail }
 *   <home>/mail/quarantine/<entry hash>.cbor    dag-cbor { v: 1, entry, env, receivedAt, code, reason, envelope }
 *   <home>/Maildir/new/<s>.<entry hash>.<host>  the same received mail as an RFC 5322 message
 *   <home>/mail/sent/<envelope CID>.cbor        dag-cbor { v: 1, env, sentAt, mail }: mail sent, kept at sealing
 *   <home>/Maildir/.Sent/cur/<s>.<env>.<host>:2,S  the same, for mail tools (Maildir++ folder, read)
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
import { openMaildir, SENT_FOLDER, type MaildirState } from './maildir.ts'
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

/** A mail this owner sent, kept at sealing (before any delivery). */
export interface SentMail {
  v: 1
  /** Its envelope CID (the outbox's id for it). */
  env: string
  /** When it was sealed here, ms since the epoch. */
  sentAt: number
  mail: Mail
}

const RECEIVED = 'received'
const QUARANTINE = 'quarantine'
const SENT = 'sent'

export interface MailStore {
  /** Store an opened mail durably. */
  saveReceived: (entry: string, env: string, mail: Mail) => Promise<StoredMail>
  /** Store an envelope that did not open, with why. */
  saveQuarantined: (entry: string, env: string, envelope: Uint8Array, code: string, reason: string) => Promise<QuarantinedMail>
  /** Received mail, newest first (by the mail's date). */
  received: () => Promise<StoredMail[]>
  /**
   * Received mail as the mail tools left it, newest first, each with its Maildir state (undefined
   * when the home has no Maildir). Without `all`, not the mail deleted, moved away or trashed in
   * the Maildir (its copy here stays: `ipms rm` deletes it).
   */
  listed: (options?: { all?: boolean }) => Promise<ListedMail[]>
  /** Keep a mail sent (at sealing): `mail/sent/<env>.cbor`, and in the Maildir's `.Sent` folder, read. */
  saveSent: (env: string, mail: Mail) => Promise<SentMail>
  /** The mail sent from this home, newest first. */
  sent: () => Promise<SentMail[]>
  /** Mark a received mail read in the Maildir (what `ipms read` does); false when already read or not there. */
  markSeen: (entry: string) => Promise<boolean>
  /** Mark a received mail answered in the Maildir (`R`, what `ipms reply` does once sent). */
  markReplied: (entry: string) => Promise<boolean>
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

/** A received mail with what the mail tools made of it. */
export interface ListedMail extends StoredMail {
  state?: MaildirState
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
  const sentMaildir = options.maildir === false ? undefined : openMaildir(home, { folder: SENT_FOLDER, seen: true })
  /** Read for the flags whether or not this store writes into it. */
  const flagsSource = maildir ?? openMaildir(home)
  let cleaned: Promise<unknown> | undefined
  /** Once per store, before its first read or write: the leftovers of killed writers go. */
  const opened = async (): Promise<void> => { await (cleaned ??= Promise.all([RECEIVED, QUARANTINE, SENT].map(async d => await removeStaleTemps(join(root, d))))) }
  return {
    saveReceived: async (entry, env, mail) => {
      await opened()
      const stored: StoredMail = { v: FORMAT_VERSION, entry, env, receivedAt: Date.now(), mail }
      await writeFileSynced(ensure(RECEIVED), `${entry}.cbor`, dagCbor.encode(stored))
      await maildir?.deliver(entry, stored.receivedAt / 1000, async () => await renderMessage(stored, { fromName: await options.nameOf?.(mail.from) }))
      return stored
    },
    saveSent: async (env, mail) => {
      await opened()
      const sent: SentMail = { v: FORMAT_VERSION, env, sentAt: Date.now(), mail }
      await writeFileSynced(ensure(SENT), `${env}.cbor`, dagCbor.encode(sent))
      await sentMaildir?.deliver(env, sent.sentAt / 1000, async () => await renderMessage(sent, { toName: await options.nameOf?.(mail.to) }))
      await sentMaildir?.flush()
      return sent
    },
    sent: async () => {
      await opened()
      return (await readCborFiles<SentMail>(join(root, SENT))).sort((a, b) => b.mail.date - a.mail.date)
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
    listed: async (listOptions = {}) => {
      await opened()
      const [received, states] = await Promise.all([readCborFiles<StoredMail>(join(root, RECEIVED)), flagsSource.states()])
      const listed: ListedMail[] = received.map(r => ({ ...r, state: states?.get(r.entry) }))
      const shown = listOptions.all === true || states === undefined ? listed : listed.filter(m => m.state !== undefined && !m.state.trashed)
      return shown.sort((a, b) => b.mail.date - a.mail.date)
    },
    markSeen: async (entry) => await flagsSource.addFlag(entry, 'S'),
    markReplied: async (entry) => await flagsSource.addFlag(entry, 'R'),
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
