/**
 * The owner's local copy of received mail, in the IPMS home (docs/ARCHITECTURE.md, mail).
 *
 *   <home>/mail/received/<entry hash>.cbor      dag-cbor { v: 1, entry, env, receivedAt, mail }
 *   <home>/mail/quarantine/<entry hash>.cbor    dag-cbor { v: 1, entry, env, receivedAt, code, reason, envelope }
 *
 * A mail is written here, durably, before the hosts are told to drop it: write a temporary file,
 * fsync it, rename it into place; `flush()` then fsyncs the directories once for the whole batch. Files are named by the MAIL entry's hash,
 * so storing the same mail twice (a crash between storing and pruning) is harmless.
 * Envelopes that fail to open are kept whole in quarantine with the reason, never dropped: a bug
 * or a newer format can still be read later.
 */
import { mkdir, open, readdir, readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { FORMAT_VERSION } from '../constants.ts'
import type { Mail } from './mail.ts'

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

/**
 * Write a file atomically with its data on disk (temp file, fsync, rename). The rename itself is
 * durable once the directory is fsync'd: `flush()` does that once for a whole batch.
 */
async function writeFileSynced (directory: string, name: string, bytes: Uint8Array): Promise<void> {
  const temp = join(directory, `.${name}.${randomBytes(6).toString('hex')}.tmp`)
  const file = await open(temp, 'wx', 0o600)
  try {
    await file.writeFile(bytes)
    await file.sync()
  } finally {
    await file.close()
  }
  await rename(temp, join(directory, name))
}

async function syncDirectory (directory: string): Promise<void> {
  const dir = await open(directory, 'r')
  try { await dir.sync() } finally { await dir.close() }
}

async function readAll<T> (directory: string): Promise<T[]> {
  let names: string[]
  try {
    names = (await readdir(directory)).filter(n => n.endsWith('.cbor') && !n.startsWith('.'))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  return await Promise.all(names.map(async n => dagCbor.decode(await readFile(join(directory, n))) as T))
}

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
}

/** The mail store of an IPMS home (directories created 0700 on first use). */
export function openMailStore (home: string): MailStore {
  const root = join(home, 'mail')
  const ensure = async (name: string): Promise<string> => {
    const directory = join(root, name)
    await mkdir(directory, { recursive: true, mode: 0o700 })
    return directory
  }
  return {
    saveReceived: async (entry, env, mail) => {
      const stored: StoredMail = { v: FORMAT_VERSION, entry, env, receivedAt: Date.now(), mail }
      await writeFileSynced(await ensure(RECEIVED), `${entry}.cbor`, dagCbor.encode(stored))
      return stored
    },
    saveQuarantined: async (entry, env, envelope, code, reason) => {
      const stored: QuarantinedMail = { v: FORMAT_VERSION, entry, env, receivedAt: Date.now(), code, reason, envelope }
      await writeFileSynced(await ensure(QUARANTINE), `${entry}.cbor`, dagCbor.encode(stored))
      return stored
    },
    received: async () => (await readAll<StoredMail>(join(root, RECEIVED))).sort((a, b) => b.mail.date - a.mail.date),
    quarantined: async () => await readAll<QuarantinedMail>(join(root, QUARANTINE)),
    flush: async () => {
      for (const name of [RECEIVED, QUARANTINE]) await syncDirectory(await ensure(name))
    }
  }
}
