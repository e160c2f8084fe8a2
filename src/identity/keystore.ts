/**
 * The identity file, `<home>/identity.json`: save and load an identity, optionally under a
 * passphrase. See docs/PROTOCOL.md, "Identity file".
 *
 * Format (JSON, UTF-8, one object; unknown extra fields are ignored):
 *
 *   type       "ipms-identity"                  what the file is.
 *   v          1                                format version; another integer means a newer
 *                                               IPMS wrote it (UnsupportedVersionError).
 *   peerId     "12D3KooW…"                      the address, canonical base58btc. Always readable,
 *                                               so an encrypted identity still shows its address.
 *   then exactly one of:
 *   key        base64(protobuf private key)     unencrypted: libp2p `privateKeyToProtobuf`
 *                                               (`{Type: 1, Data: seed ‖ public key}`), the same
 *                                               bytes as a kubo `Identity.PrivKey`.
 *   encrypted  { kdf: "scrypt",                 under a passphrase:
 *                N: 131072, r: 8, p: 1,         scrypt cost (RFC 7914), N a power of two;
 *                salt:  base64(16 bytes),       random per file;
 *                nonce: base64(24 bytes),       random per file;
 *                ct:    base64(XChaCha20-Poly1305(
 *                         key   = scrypt(NFC(passphrase) as UTF-8, salt, N, r, p, 32 bytes),
 *                         nonce,
 *                         plaintext = the protobuf private key,
 *                         AAD   = "ipms/identity/v1" ‖ 0x00 ‖ utf8(peerId))) }
 *
 * Base64 is standard, padded and canonical (RFC 4648 §4); readers refuse any other spelling.
 *
 * Watch out for:
 * - The file is written atomically with mode 0600 (temp file in the same directory, fsync,
 *   rename — or hard link when overwriting is not allowed, so two racing `init`s cannot both win —
 *   then fsync of the directory). A crash leaves the old file or the new one, never half of one.
 * - A key file that group or others can access is refused (`InsecureKeyFileError`), as ssh does.
 * - The AEAD cannot tell a wrong passphrase from an altered `ct` or `peerId`: all three are
 *   `WrongPassphraseError`, and never a garbage key.
 * - scrypt parameters are read from the file, which may be damaged: they are bounded before use.
 */
import { randomBytes } from 'node:crypto'
import { link, lstat, open, rename, rm, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { FORMAT_VERSION, TAG_IDENTITY_FILE } from '../constants.ts'
import { taggedBytes, utf8Bytes } from '../crypto/codec.ts'
import {
  CorruptKeyFileError, IdentityExistsError, IdentityNotFoundError, InsecureKeyFileError, InvalidArgumentError,
  PassphraseRequiredError, UnsupportedVersionError, WrongPassphraseError
} from '../errors.ts'
import { fromBase64, toBase64 } from './base64.ts'
import { ensureHome, identityPath } from './home.ts'
import { identityFromPrivateKey } from './identity.ts'
import { openWithPassphrase, parsePassphraseBox, sealWithPassphrase, type PassphraseBox } from './passphrase-box.ts'
import type { Identity } from './identity.ts'
import { parsePeerId } from './peer-id.ts'
import { isJsonObject } from '../util/json-object.ts'

/** `type` of an identity file. */
export const IDENTITY_FILE_TYPE = 'ipms-identity'
/** Mode of the identity file: owner read/write only. */
export const IDENTITY_FILE_MODE = 0o600
export { DEFAULT_SCRYPT } from './passphrase-box.ts'

/** An identity file is a few hundred bytes; refuse to read anything much larger. */
const MAX_FILE_BYTES = 64 * 1024
/** Largest ciphertext read: an Ed25519 protobuf is 68 bytes, plus the tag. */
const MAX_CT_BYTES = 4096

export interface SaveIdentityOptions {
  /** Encrypt the key under this passphrase (NFC-normalised). Default: stored unencrypted. */
  passphrase?: string
  /** Replace an existing identity file. Default: false (`IdentityExistsError`). */
  overwrite?: boolean
  /** scrypt cost override, for tests only. Default: N = 2^17 (allowed: 2^10 … 2^20, a power of two). */
  kdf?: { N?: number }
}

export interface LoadIdentityOptions {
  /** Passphrase of an encrypted identity; ignored when the file is not encrypted. */
  passphrase?: string
}

/** What can be read from an identity file without its passphrase. */
export interface IdentityFileInfo {
  /** The address stored in the file. */
  peerId: string
  /** Whether loading needs a passphrase. */
  encrypted: boolean
}

/**
 * Save `identity` as `<home>/identity.json` (creating the home with mode 0700 if needed).
 * Returns the path written.
 */
export async function saveIdentity (home: string, identity: Identity, options: SaveIdentityOptions = {}): Promise<string> {
  const path = identityPath(home)
  const overwrite = options.overwrite === true
  // Fail before the (slow) key derivation; the link below still settles races.
  if (!overwrite && await exists(path)) throw existsError(path)
  const text = await encodeIdentityFile(identity, options)
  await ensureHome(home)
  await writeFileAtomic(path, text, overwrite)
  return path
}

/** Load the identity of `home`. Needs `passphrase` when the file is encrypted. */
export async function loadIdentity (home: string, options: LoadIdentityOptions = {}): Promise<Identity> {
  const path = identityPath(home)
  return decodeIdentityFile(await readKeyFile(path, true), options, path)
}

/** The peer-id of the identity in `home`, without its passphrase. */
export async function readIdentityPeerId (home: string): Promise<string> {
  return (await readIdentityInfo(home)).peerId
}

/** Peer-id and whether a passphrase is needed, without the passphrase. */
export async function readIdentityInfo (home: string): Promise<IdentityFileInfo> {
  const path = identityPath(home)
  // Only public data is used here, so a loose mode is not an error yet (loadIdentity refuses it).
  const doc = parseDocument(await readKeyFile(path, false), path)
  return { peerId: doc.peerId, encrypted: doc.encrypted !== undefined }
}

/** The identity file text of `identity` (see the format above). */
export async function encodeIdentityFile (identity: Identity, options: SaveIdentityOptions = {}): Promise<string> {
  if (identity?.privateKey === undefined) throw new InvalidArgumentError('saveIdentity needs an Identity (from createIdentity or loadIdentity)')
  // Re-derive from the key itself, so that a hand-made object cannot pair a key with another peer-id.
  const checked = identityFromPrivateKey(identity?.privateKey)
  if (checked.peerId !== identity.peerId) {
    throw new InvalidArgumentError('The identity is inconsistent: its peerId is not the peer-id of its private key')
  }
  const { passphrase } = options
  if (passphrase !== undefined && (typeof passphrase !== 'string' || passphrase === '')) {
    throw new InvalidArgumentError('The passphrase must be a non-empty string; leave it out to store the key unencrypted')
  }
  const protobuf = privateKeyToProtobuf(checked.privateKey)
  try {
    if (passphrase === undefined) {
      return serialize({ type: IDENTITY_FILE_TYPE, v: FORMAT_VERSION, peerId: checked.peerId, key: toBase64(protobuf) })
    }
    const encrypted = await sealWithPassphrase(protobuf, passphrase, aad(checked.peerId), options.kdf)
    return serialize({ type: IDENTITY_FILE_TYPE, v: FORMAT_VERSION, peerId: checked.peerId, encrypted })
  } finally {
    protobuf.fill(0)
  }
}

/** The identity in an identity file's text. `path` only names the file in error messages. */
export async function decodeIdentityFile (text: string, options: LoadIdentityOptions = {}, path = 'the identity file'): Promise<Identity> {
  const doc = parseDocument(text, path)
  let protobuf: Uint8Array
  if (doc.encrypted === undefined) {
    protobuf = doc.key!
  } else {
    const { passphrase } = options
    if (passphrase === undefined) {
      throw new PassphraseRequiredError(`The identity in ${path} is encrypted; give its passphrase`)
    }
    if (typeof passphrase !== 'string') throw new InvalidArgumentError('The passphrase must be a string')
    const opened = await openWithPassphrase(doc.encrypted, passphrase, aad(doc.peerId))
    if (opened === undefined) throw new WrongPassphraseError(`The passphrase does not open the identity in ${path} (or the file was altered); try again`)
    protobuf = opened
  }
  try {
    return identityOfProtobuf(protobuf, doc.peerId, path)
  } finally {
    protobuf.fill(0)
  }
}

// ── parsing ──────────────────────────────────────────────────────────────────────────────────

interface IdentityDocument {
  peerId: string
  key?: Uint8Array
  encrypted?: PassphraseBox
}

/** Structure checks of the JSON; no secret is touched here. */
function parseDocument (text: string, path: string): IdentityDocument {
  const corrupt = (why: string, cause?: unknown): CorruptKeyFileError => new CorruptKeyFileError(
    `${path} is not a usable IPMS identity file: ${why}. Restore it from a backup, or create a new identity with \`ipms init --force\``,
    { cause })
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw corrupt('it is not valid JSON', err)
  }
  if (!isJsonObject(doc)) throw corrupt('it is not a JSON object')
  if (doc['type'] !== IDENTITY_FILE_TYPE) throw corrupt(`its "type" is not "${IDENTITY_FILE_TYPE}"`)
  if (doc['v'] !== FORMAT_VERSION) {
    if (Number.isSafeInteger(doc['v'])) {
      throw new UnsupportedVersionError(`${path} is an identity file of version ${String(doc['v'])}, which this IPMS does not know (it reads version ${FORMAT_VERSION}); upgrade IPMS`)
    }
    throw corrupt('its "v" is missing or not a version number')
  }
  let peerId: string
  try {
    peerId = parsePeerId(doc['peerId'] as string).peerId
  } catch (err) {
    throw corrupt(`its "peerId" is not an IPMS address (${(err as Error).message})`, err)
  }
  if (peerId !== doc['peerId']) throw corrupt('its "peerId" is not in canonical form')
  const hasKey = doc['key'] !== undefined
  const enc = doc['encrypted']
  if (hasKey === (enc !== undefined)) throw corrupt('it must hold exactly one of "key" and "encrypted"')
  if (hasKey) {
    const key = fromBase64(doc['key'])
    if (key === undefined) throw corrupt('its "key" is not valid base64')
    return { peerId, key }
  }
  const box = parsePassphraseBox(enc, MAX_CT_BYTES)
  if (typeof box === 'string') throw corrupt(box)
  return { peerId, encrypted: box }
}

function identityOfProtobuf (protobuf: Uint8Array, peerId: string, path: string): Identity {
  let identity: Identity
  try {
    const privateKey = privateKeyFromProtobuf(protobuf)
    if (privateKey.type !== 'Ed25519') throw new Error(`it holds an ${privateKey.type} key`)
    identity = identityFromPrivateKey(privateKey)
  } catch (err) {
    throw new CorruptKeyFileError(`${path} does not hold a valid Ed25519 key (${(err as Error)?.message}); restore it from a backup`, { cause: err })
  }
  if (identity.peerId !== peerId) {
    throw new CorruptKeyFileError(`The "peerId" of ${path} is not the peer-id of its key; the file was altered. Restore it from a backup`)
  }
  return identity
}

// ── crypto ───────────────────────────────────────────────────────────────────────────────────

function aad (peerId: string): Uint8Array {
  return taggedBytes(TAG_IDENTITY_FILE, utf8Bytes(peerId))
}

// ── files ────────────────────────────────────────────────────────────────────────────────────

/** Read a key file; with `checkMode`, refuse one that group or others can access. */
async function readKeyFile (path: string, checkMode: boolean): Promise<string> {
  let handle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new IdentityNotFoundError(`No IPMS identity at ${path}; create one with \`ipms init\` (or choose another home with --home or $IPMS_HOME)`, { cause: err })
    }
    throw err
  }
  try {
    const stat = await handle.stat()
    if (!stat.isFile()) throw new CorruptKeyFileError(`${path} is not a regular file; move it away and run \`ipms init\``)
    if (checkMode && process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      throw new InsecureKeyFileError(`${path} is accessible by other users (mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}); ` +
        `IPMS refuses a private key that others can read. Run \`chmod 600 ${path}\` (and if others may have copied it, make a new identity)`)
    }
    if (stat.size > MAX_FILE_BYTES) throw new CorruptKeyFileError(`${path} is ${stat.size} bytes, far too large for an identity file`)
    return await handle.readFile('utf8')
  } finally {
    await handle.close()
  }
}

/** Write `text` to `path` with mode 0600 so that a crash leaves either the old or the new file. */
async function writeFileAtomic (path: string, text: string, overwrite: boolean): Promise<void> {
  const dir = dirname(path)
  const temp = join(dir, `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`)
  const handle = await open(temp, 'wx', IDENTITY_FILE_MODE)
  try {
    try {
      await handle.chmod(IDENTITY_FILE_MODE) // the open mode went through the umask
      await handle.writeFile(text, 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (overwrite) {
      await rename(temp, path)
    } else {
      await linkNoClobber(temp, path)
      await unlink(temp)
    }
  } catch (err) {
    await rm(temp, { force: true })
    throw err
  }
  await syncDirectory(dir)
}

/** Put `temp` at `path` only if nothing is there: link(2) fails with EEXIST, atomically. */
async function linkNoClobber (temp: string, path: string): Promise<void> {
  try {
    await link(temp, path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw existsError(path)
    // File systems without hard links: check, then rename (a small race, but no other way).
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
      if (await exists(path)) throw existsError(path)
      await rename(temp, path)
      await rm(temp, { force: true })
      return
    }
    throw err
  }
}

/** fsync a directory so that a rename in it survives a crash; skipped where it is unsupported. */
async function syncDirectory (dir: string): Promise<void> {
  let handle
  try {
    handle = await open(dir, 'r')
    await handle.sync()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'ENOTSUP') throw err
  } finally {
    await handle?.close()
  }
}

async function exists (path: string): Promise<boolean> {
  try {
    await lstat(path)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
}

function existsError (path: string): IdentityExistsError {
  return new IdentityExistsError(`An identity already exists at ${path}; IPMS will not replace it unless told to (\`ipms init --force\`; back it up first, its address and mail are lost otherwise)`)
}

function serialize (doc: Record<string, unknown>): string {
  return `${JSON.stringify(doc, null, 2)}\n`
}
