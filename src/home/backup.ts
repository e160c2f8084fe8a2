/**
 * A home's backup (README, "Backups"; docs/PROTOCOL.md §6.1): the identity's key and the files a
 * person cannot make again (contacts.json, hosts.json, config.json), sealed under a passphrase
 * chosen for the backup, in one JSON file that `ipms export` writes and `ipms import` restores.
 * Mail is not in it: the Maildir is for mail tools and is backed up as files are.
 *
 *   { "type": "ipms-backup", "v": 1, "peerId": "12D3KooW…", "created": <ms>, "encrypted": <box> }
 *   box: the passphrase box of the identity file (passphrase-box.ts), AAD "ipms/backup/v1" ‖ 0x00 ‖ utf8(peerId),
 *   plaintext: UTF-8 JSON { "key": base64(protobuf private key), "keyEncrypted": bool, "files": { name: text } }
 *
 * Watch out for: the file may be altered or hostile: its size, fields and file names are checked
 * before the (slow) key derivation; what it restores is checked after opening (the key's peer-id is
 * the file's, each file is valid for what it is) before anything is written.
 */
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { FORMAT_VERSION, TAG_BACKUP } from '../constants.ts'
import { taggedBytes, utf8Bytes } from '../crypto/codec.ts'
import { InvalidRecordError, IdentityExistsError, IdentityNotFoundError, UnsupportedVersionError, WrongPassphraseError } from '../errors.ts'
import { ensureHome } from '../identity/home.ts'
import { readIdentityInfo, saveIdentity } from '../identity/keystore.ts'
import { syncDirectory, writeFileSynced } from '../util/durable-files.ts'
import { fromBase64, toBase64 } from '../identity/base64.ts'
import { identityFromPrivateKey, type Identity } from '../identity/identity.ts'
import { parsePeerId } from '../identity/peer-id.ts'
import { openWithPassphrase, parsePassphraseBox, sealWithPassphrase } from '../identity/passphrase-box.ts'
import { parseConfig, CONFIG_FILE_NAME } from './config.ts'
import { CONTACTS_FILE_NAME } from './contacts.ts'
import { HOSTS_FILE_NAME } from './owner-hosts.ts'

export const BACKUP_FILE_TYPE = 'ipms-backup'
/** The home's files a backup carries, and only these. */
export const BACKUP_FILES = [CONTACTS_FILE_NAME, HOSTS_FILE_NAME, CONFIG_FILE_NAME] as const
/** A backup file is refused unread past this size (contacts and hosts are small). */
export const MAX_BACKUP_BYTES = 16 * 1024 * 1024
const MAX_CT_BYTES = 12 * 1024 * 1024

/** What a backup restores. */
export interface Backup {
  identity: Identity
  /** Whether the identity was stored under a passphrase when it was exported. */
  keyEncrypted: boolean
  /** The home's files, by name (those of BACKUP_FILES that existed). */
  files: Partial<Record<typeof BACKUP_FILES[number], string>>
  created: number
}

const aad = (peerId: string): Uint8Array => taggedBytes(TAG_BACKUP, utf8Bytes(peerId))

/** The backup file's text of `backup`, sealed under `passphrase`. */
export async function encodeBackup (backup: Backup, passphrase: string, options: { N?: number } = {}): Promise<string> {
  const key = privateKeyToProtobuf(backup.identity.privateKey)
  const plaintext = utf8Bytes(JSON.stringify({ key: toBase64(key), keyEncrypted: backup.keyEncrypted, files: backup.files }))
  try {
    const encrypted = await sealWithPassphrase(plaintext, passphrase, aad(backup.identity.peerId), options)
    return `${JSON.stringify({ type: BACKUP_FILE_TYPE, v: FORMAT_VERSION, peerId: backup.identity.peerId, created: backup.created, encrypted }, null, 2)}\n`
  } finally {
    key.fill(0)
    plaintext.fill(0)
  }
}

/** The peer-id a backup is of, without its passphrase; InvalidRecordError when it is no backup. */
export function backupPeerId (text: string, path = 'the backup'): string {
  return parseBackupDocument(text, path).peerId
}

/** What the backup in `text` restores. WrongPassphraseError when `passphrase` does not open it. */
export async function decodeBackup (text: string, passphrase: string, path = 'the backup'): Promise<Backup> {
  const doc = parseBackupDocument(text, path)
  const opened = await openWithPassphrase(doc.box, passphrase, aad(doc.peerId))
  if (opened === undefined) throw new WrongPassphraseError(`The passphrase does not open ${path} (or the file was altered); try again`)
  const corrupt = (why: string, cause?: unknown): InvalidRecordError => new InvalidRecordError(`${path} opened but ${why}: it was not made by ipms export`, { cause })
  let content: unknown
  try {
    content = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(opened))
  } catch (err) {
    throw corrupt('its content is not JSON', err)
  } finally {
    opened.fill(0)
  }
  const { key, keyEncrypted, files } = (typeof content === 'object' && content !== null ? content : {}) as Record<string, unknown>
  const protobuf = fromBase64(key)
  if (protobuf === undefined) throw corrupt('its key is not base64')
  let identity: Identity
  try {
    const privateKey = privateKeyFromProtobuf(protobuf)
    if (privateKey.type !== 'Ed25519') throw new Error(`an ${privateKey.type} key`)
    identity = identityFromPrivateKey(privateKey)
  } catch (err) {
    throw corrupt(`its key is not an Ed25519 key (${(err as Error).message})`, err)
  } finally {
    protobuf.fill(0)
  }
  if (identity.peerId !== doc.peerId) throw corrupt('its key is not the key of its peer-id')
  if (typeof keyEncrypted !== 'boolean') throw corrupt('"keyEncrypted" is not true or false')
  if (typeof files !== 'object' || files === null || Array.isArray(files)) throw corrupt('"files" is not an object')
  const restored: Backup['files'] = {}
  for (const [name, value] of Object.entries(files)) {
    if (!(BACKUP_FILES as readonly string[]).includes(name)) throw corrupt(`it carries a file ${JSON.stringify(name.slice(0, 80))}, which a backup never holds`)
    if (typeof value !== 'string') throw corrupt(`${name} is not text`)
    let json: unknown
    try { json = JSON.parse(value) } catch (err) { throw corrupt(`its ${name} is not JSON`, err) }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw corrupt(`its ${name} is not a JSON object`)
    // The backup's content, not this home's config: refused as the backup's fault (§6.1), not ERR_CONFIG.
    if (name === CONFIG_FILE_NAME) {
      try { parseConfig(json, `the ${name} in ${path}`) } catch (err) { throw corrupt(`its ${name} is refused (${(err as Error).message})`, err) }
    }
    restored[name as typeof BACKUP_FILES[number]] = value
  }
  return { identity, keyEncrypted, files: restored, created: doc.created }
}

/** Shape and bounds of a backup file, before any key derivation. */
function parseBackupDocument (text: string, path: string): { peerId: string, created: number, box: Exclude<ReturnType<typeof parsePassphraseBox>, string> } {
  const corrupt = (why: string, cause?: unknown): InvalidRecordError => new InvalidRecordError(`${path} is not an IPMS backup: ${why}`, { cause })
  if (text.length > MAX_BACKUP_BYTES) throw corrupt(`it is over ${MAX_BACKUP_BYTES} bytes`)
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw corrupt('it is not JSON', err)
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw corrupt('it is not a JSON object')
  const fields = doc as Record<string, unknown>
  if (fields['type'] !== BACKUP_FILE_TYPE) throw corrupt(`its "type" is not "${BACKUP_FILE_TYPE}"`)
  if (fields['v'] !== FORMAT_VERSION) {
    if (Number.isSafeInteger(fields['v'])) throw new UnsupportedVersionError(`${path} is a backup of version ${String(fields['v'])}, which this IPMS does not read (it reads version ${FORMAT_VERSION}): upgrade IPMS`)
    throw corrupt('its "v" is missing or not a version number')
  }
  let peerId: string
  try {
    peerId = parsePeerId(fields['peerId'] as string).peerId
  } catch (err) {
    throw corrupt('its "peerId" is not an IPMS address', err)
  }
  if (peerId !== fields['peerId']) throw corrupt('its "peerId" is not in canonical form')
  const created = fields['created']
  if (!Number.isSafeInteger(created) || (created as number) < 0) throw corrupt('its "created" is not a time')
  const box = parsePassphraseBox(fields['encrypted'], MAX_CT_BYTES)
  if (typeof box === 'string') throw corrupt(box)
  return { peerId, created: created as number, box }
}

/** The home's files a backup carries (those that exist), as they are on disk. */
export async function readBackupFiles (home: string): Promise<Backup['files']> {
  const files: Backup['files'] = {}
  for (const name of BACKUP_FILES) {
    try {
      files[name] = await readFile(join(home, name), 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }
  return files
}

/**
 * Write what `backup` restores into `home`: its files first (each durably; a file the backup does
 * not carry is removed, so a restore is the backup, not a mix), the identity last (a home without
 * one is not yet a home: a cut restore is simply run again). The key is stored under `passphrase`
 * when it was encrypted at export.
 */
export async function restoreBackup (home: string, backup: Backup, options: { passphrase?: string, overwrite?: boolean, kdf?: { N?: number } } = {}): Promise<void> {
  // Refused before anything is written when an identity is there and may not be replaced.
  if (options.overwrite !== true) await assertNoIdentity(home)
  await ensureHome(home)
  for (const name of BACKUP_FILES) {
    const text = backup.files[name]
    if (text === undefined) await rm(join(home, name), { force: true })
    else await writeFileSynced(home, name, utf8Bytes(text))
  }
  await syncDirectory(home)
  await saveIdentity(home, backup.identity, { passphrase: backup.keyEncrypted ? options.passphrase : undefined, overwrite: options.overwrite === true, kdf: options.kdf })
}

async function assertNoIdentity (home: string): Promise<void> {
  try {
    await readIdentityInfo(home)
  } catch (err) {
    if (err instanceof IdentityNotFoundError) return
    throw err
  }
  throw new IdentityExistsError(`${home} has an identity already: import into a new home (--home), or replace it with --force (its address changes to the backup's)`)
}
