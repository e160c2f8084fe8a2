/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03) on node:crypto.
 *
 * XChaCha20-Poly1305 is HChaCha20(key, nonce[0..16]) → subkey, then the IETF ChaCha20-Poly1305 AEAD
 * of RFC 8439 with the subkey and the 12-byte nonce `0x00000000 ‖ nonce[16..24]`. node:crypto has
 * the IETF AEAD (OpenSSL, 1–2 GB/s here) but not the X variant, and pure-JS XChaCha runs at about a
 * tenth of that; so the subkey comes from @noble/ciphers' `hchacha` (one block, microseconds) and the
 * bulk from OpenSSL. Output is byte-identical to @noble/ciphers' `xchacha20poly1305`, the
 * reference path, as test/crypto/xchacha.test.ts checks.
 *
 * Watch for: `xchachaOpen` returns undefined on any authentication failure, never partial output.
 */
import crypto from 'node:crypto'
import { hchacha } from '@noble/ciphers/chacha.js'
import { POLY1305_TAG_BYTES, XCHACHA_NONCE_BYTES } from '../constants.ts'

// "expand 32-byte k" as little-endian words (RFC 8439 §2.3).
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574])

function words (bytes: Uint8Array, offset: number, count: number): Uint32Array {
  const out = new Uint32Array(count)
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * 4)
  for (let i = 0; i < count; i++) out[i] = view.getUint32(i * 4, true)
  return out
}

/** The HChaCha20 subkey and the IETF nonce for one XChaCha20 key and 24-byte nonce. */
function subkeyAndNonce (key: Uint8Array, nonce: Uint8Array): { subkey: Buffer, ietfNonce: Buffer } {
  if (key.byteLength !== 32) throw new RangeError('XChaCha20 key must be 32 bytes')
  if (nonce.byteLength !== XCHACHA_NONCE_BYTES) throw new RangeError('XChaCha20 nonce must be 24 bytes')
  const out = new Uint32Array(8)
  hchacha(SIGMA, words(key, 0, 8), words(nonce, 0, 4), out)
  const subkey = Buffer.alloc(32)
  for (let i = 0; i < 8; i++) subkey.writeUInt32LE(out[i]!, i * 4)
  out.fill(0)
  const ietfNonce = Buffer.alloc(12)
  ietfNonce.set(nonce.subarray(16, 24), 4)
  return { subkey, ietfNonce }
}

/** Encrypt: returns `ciphertext ‖ 16-byte tag`. */
export function xchachaSeal (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const out = new Uint8Array(plaintext.byteLength + POLY1305_TAG_BYTES)
  xchachaSealInto(key, nonce, [plaintext], aad, out, 0)
  return out
}

/** Input is fed to OpenSSL in slices of this size: small outputs are cheap to allocate and copy. */
const UPDATE_SLICE = 64 * 1024

/**
 * Encrypt the concatenation of `parts` into `out` at `offset` (`ciphertext ‖ tag`), so that a
 * caller building a larger structure around the ciphertext neither concatenates its input nor
 * copies the output again: for a megabyte mail that halves the bytes moved.
 */
export function xchachaSealInto (key: Uint8Array, nonce: Uint8Array, parts: Uint8Array[], aad: Uint8Array, out: Uint8Array, offset: number): void {
  const length = parts.reduce((n, part) => n + part.byteLength, 0)
  if (out.byteLength - offset < length + POLY1305_TAG_BYTES) throw new RangeError('XChaCha20 output buffer too small')
  const { subkey, ietfNonce } = subkeyAndNonce(key, nonce)
  const cipher = crypto.createCipheriv('chacha20-poly1305', subkey, ietfNonce, { authTagLength: POLY1305_TAG_BYTES })
  cipher.setAAD(aad, { plaintextLength: length })
  let position = offset
  for (const part of parts) {
    for (let start = 0; start < part.byteLength; start += UPDATE_SLICE) {
      const encrypted = cipher.update(part.subarray(start, start + UPDATE_SLICE))
      out.set(encrypted, position)
      position += encrypted.byteLength
    }
  }
  cipher.final()
  out.set(cipher.getAuthTag(), offset + length)
  subkey.fill(0)
}

/** Decrypt `ciphertext ‖ tag`; undefined when the tag does not verify (wrong key, nonce, AAD or bytes). */
export function xchachaOpen (key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
  if (sealed.byteLength < POLY1305_TAG_BYTES) return undefined
  const { subkey, ietfNonce } = subkeyAndNonce(key, nonce)
  const bodyLength = sealed.byteLength - POLY1305_TAG_BYTES
  try {
    const decipher = crypto.createDecipheriv('chacha20-poly1305', subkey, ietfNonce, { authTagLength: POLY1305_TAG_BYTES })
    decipher.setAAD(aad, { plaintextLength: bodyLength })
    decipher.setAuthTag(sealed.subarray(bodyLength))
    const plaintext = decipher.update(sealed.subarray(0, bodyLength))
    decipher.final() // throws when the tag does not verify
    return new Uint8Array(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength)
  } catch {
    return undefined
  } finally {
    subkey.fill(0)
  }
}

/**
 * The raw ChaCha20 keystream applied to the first bytes of the ciphertext, without authentication:
 * used only to tell "sealed to another key" from "altered" after `xchachaOpen` failed. Block
 * counter 1, as the AEAD's data starts there (RFC 8439 §2.8).
 */
export function xchachaPeek (key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, length: number): Uint8Array {
  const { subkey, ietfNonce } = subkeyAndNonce(key, nonce)
  const iv = Buffer.alloc(16)
  iv.writeUInt32LE(1, 0)
  iv.set(ietfNonce, 4)
  const cipher = crypto.createCipheriv('chacha20', subkey, iv)
  const out = cipher.update(sealed.subarray(0, Math.min(length, Math.max(0, sealed.byteLength - POLY1305_TAG_BYTES))))
  subkey.fill(0)
  return new Uint8Array(out)
}
