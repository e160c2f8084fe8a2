/**
 * Bytes sealed under a passphrase (docs/PROTOCOL.md §6): scrypt (RFC 7914) turns the passphrase
 * into a key, XChaCha20-Poly1305 seals the bytes with a caller's associated data (which says what
 * the bytes are and whose). The `encrypted` object of an identity file and of a backup file:
 *
 *   { kdf: "scrypt", N, r, p, salt: base64(16 bytes), nonce: base64(24 bytes), ct: base64(…) }
 *   key = scrypt(NFC(passphrase) as UTF-8, salt, N, r, p, 32 bytes)
 *
 * Watch out for: the parameters are read from a file that may be damaged or hostile, so they are
 * bounded before any work (N a power of two from 2^10 to 2^20, r ≤ 32, p ≤ 16, at most 1 GiB);
 * the AEAD cannot tell a wrong passphrase from altered bytes: both are "does not open".
 */
import { randomBytes, scrypt } from 'node:crypto'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { POLY1305_TAG_BYTES, XCHACHA_NONCE_BYTES } from '../constants.ts'
import { InvalidArgumentError } from '../errors.ts'
import { fromBase64, toBase64 } from './base64.ts'

export interface ScryptParams { N: number, r: number, p: number }

/** A sealed box as read from a file, checked for shape and bounds (nothing secret touched). */
export interface PassphraseBox { params: ScryptParams, salt: Uint8Array, nonce: Uint8Array, ct: Uint8Array }

/** Default scrypt cost: N = 2^17, r = 8, p = 1 (128 MiB, about half a second). */
export const DEFAULT_SCRYPT = Object.freeze({ N: 2 ** 17, r: 8, p: 1 })

const SALT_BYTES = 16
const KEY_BYTES = 32
const MIN_LOG2_N = 10
const MAX_LOG2_N = 20
const MAX_R = 32
const MAX_P = 16
const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024

/** Seal `plaintext` under `passphrase` with `aad`; the `encrypted` object a file stores. */
export async function sealWithPassphrase (plaintext: Uint8Array, passphrase: string, aad: Uint8Array, options: { N?: number } = {}): Promise<Record<string, unknown>> {
  if (typeof passphrase !== 'string' || passphrase === '') throw new InvalidArgumentError('The passphrase must be a non-empty string')
  const params = { ...DEFAULT_SCRYPT, N: options.N ?? DEFAULT_SCRYPT.N }
  if (!validScrypt(params)) throw new InvalidArgumentError(`scrypt N must be a power of two from 2^${MIN_LOG2_N} to 2^${MAX_LOG2_N}`)
  const salt = randomBytes(SALT_BYTES)
  const nonce = randomBytes(XCHACHA_NONCE_BYTES)
  const key = await deriveKey(passphrase, salt, params)
  try {
    const ct = xchacha20poly1305(key, nonce, aad).encrypt(plaintext)
    return { kdf: 'scrypt', ...params, salt: toBase64(salt), nonce: toBase64(nonce), ct: toBase64(ct) }
  } finally {
    key.fill(0)
  }
}

/**
 * The box in a file's `encrypted` value, or a reason it is not one (for the caller's error).
 * `maxCtBytes` bounds the ciphertext before it is decoded further.
 */
export function parsePassphraseBox (value: unknown, maxCtBytes: number): PassphraseBox | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'its "encrypted" is not an object'
  const enc = value as Record<string, unknown>
  if (enc['kdf'] !== 'scrypt') return 'its key derivation is not "scrypt"'
  const params = { N: enc['N'], r: enc['r'], p: enc['p'] }
  if (!validScrypt(params)) return 'its scrypt parameters are missing or out of range'
  if (typeof enc['ct'] !== 'string' || enc['ct'].length > Math.ceil(maxCtBytes / 3) * 4) return 'its "ct" is not a ciphertext in base64'
  const salt = fromBase64(enc['salt'])
  const nonce = fromBase64(enc['nonce'])
  const ct = fromBase64(enc['ct'])
  if (salt === undefined || salt.byteLength !== SALT_BYTES) return `its "salt" is not ${SALT_BYTES} bytes of base64`
  if (nonce === undefined || nonce.byteLength !== XCHACHA_NONCE_BYTES) return `its "nonce" is not ${XCHACHA_NONCE_BYTES} bytes of base64`
  if (ct === undefined || ct.byteLength <= POLY1305_TAG_BYTES || ct.byteLength > maxCtBytes) return 'its "ct" is not a ciphertext in base64'
  return { params, salt, nonce, ct }
}

/** The plaintext of `box`, or undefined when `passphrase` (or the bytes) do not open it. */
export async function openWithPassphrase (box: PassphraseBox, passphrase: string, aad: Uint8Array): Promise<Uint8Array | undefined> {
  if (typeof passphrase !== 'string') throw new InvalidArgumentError('The passphrase must be a string')
  const key = await deriveKey(passphrase, box.salt, box.params)
  try {
    return xchacha20poly1305(key, box.nonce, aad).decrypt(box.ct)
  } catch {
    return undefined
  } finally {
    key.fill(0)
  }
}

function validScrypt (params: { N: unknown, r: unknown, p: unknown }): params is ScryptParams {
  const { N, r, p } = params
  if (!Number.isSafeInteger(N) || !Number.isSafeInteger(r) || !Number.isSafeInteger(p)) return false
  const n = N as number
  const rr = r as number
  const pp = p as number
  const log2N = Math.log2(n)
  return Number.isInteger(log2N) && log2N >= MIN_LOG2_N && log2N <= MAX_LOG2_N &&
    rr >= 1 && rr <= MAX_R && pp >= 1 && pp <= MAX_P && scryptMemory({ N: n, r: rr, p: pp }) <= MAX_SCRYPT_MEMORY
}

/** Bytes OpenSSL's scrypt allocates (its `maxmem` check): 128·r·(N + 2) + 128·r·p. */
function scryptMemory ({ N, r, p }: ScryptParams): number {
  return 128 * r * (N + 2 + p)
}

async function deriveKey (passphrase: string, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array> {
  const secret = Buffer.from(passphrase.normalize('NFC'), 'utf8')
  return await new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_BYTES, { ...params, maxmem: scryptMemory(params) + 1024 * 1024 }, (err, key) => {
      secret.fill(0)
      if (err !== null) reject(err)
      else resolve(new Uint8Array(key.buffer, key.byteOffset, key.byteLength))
    })
  })
}
