/**
 * A second, independent implementation of the v1 envelope and mail signature, written only with
 * @noble/* (pure JS) and @ipld/dag-cbor, straight from docs/PROTOCOL.md. The optimised code in
 * src/ (node:crypto, caches, pools) must produce byte-identical output: the vectors and
 * test/crypto/envelope.test.ts check that. Slow on purpose; never used outside tests.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let offset = 0
  for (const part of parts) { out.set(part, offset); offset += part.byteLength }
  return out
}

/** tag ‖ 0x00 ‖ payload */
export function referenceTagged (tag: string, payload: Uint8Array): Uint8Array {
  return concat(utf8(tag), new Uint8Array([0]), payload)
}

/** The padded size, written from the spec's table rather than shared with src/. */
export function referencePaddedSize (n: number): number {
  if (n <= 1024) return 1024
  if (n <= 65536) { let size = 1024; while (size < n) size *= 2; return size }
  const e = Math.floor(Math.log2(n))
  const s = Math.floor(Math.log2(e)) + 1
  const step = 2 ** (e - s)
  return Math.ceil(n / step) * step
}

export function referencePad (plaintext: Uint8Array): Uint8Array {
  const out = new Uint8Array(referencePaddedSize(4 + plaintext.byteLength))
  out[0] = plaintext.byteLength >>> 24; out[1] = (plaintext.byteLength >>> 16) & 0xff
  out[2] = (plaintext.byteLength >>> 8) & 0xff; out[3] = plaintext.byteLength & 0xff
  out.set(plaintext, 4)
  return out
}

/** Sign an unsigned mail map (a plain object) with a 32-byte seed; returns the signed map. */
export function referenceSignMail (unsigned: Record<string, unknown>, seed: Uint8Array): Record<string, unknown> {
  const digest = sha256(dagCbor.encode(unsigned))
  const sig = ed25519.sign(referenceTagged('ipms/mail/v1', digest), seed)
  return { ...unsigned, sig }
}

/** Seal plaintext bytes to a raw Ed25519 public key for an inbox, with the given randomness. */
export function referenceSeal (plaintext: Uint8Array, ownerEd: Uint8Array, inbox: string, esk: Uint8Array, nonce: Uint8Array): Uint8Array {
  return referenceSealPadded(referencePad(plaintext), ownerEd, inbox, esk, nonce)
}

/** Seal bytes that are already padded (or deliberately mis-padded, for tests of the reader). */
export function referenceSealPadded (padded: Uint8Array, ownerEd: Uint8Array, inbox: string, esk: Uint8Array, nonce: Uint8Array): Uint8Array {
  const ownerX = ed25519.utils.toMontgomery(ownerEd)
  const epk = x25519.getPublicKey(esk)
  const shared = x25519.getSharedSecret(esk, ownerX)
  const key = hkdf(sha256, shared, concat(epk, ownerX), utf8('ipms/envelope/v1'), 32)
  const ct = xchacha20poly1305(key, nonce, utf8(inbox)).encrypt(padded)
  return dagCbor.encode({ v: 1, epk, nonce, ct })
}

/** Open with the owner's seed; returns the unpadded plaintext (throws on any failure). */
export function referenceOpen (envelope: Uint8Array, ownerSeed: Uint8Array, inbox: string): Uint8Array {
  const { epk, nonce, ct } = dagCbor.decode(envelope) as { epk: Uint8Array, nonce: Uint8Array, ct: Uint8Array }
  const ownerX = ed25519.utils.toMontgomery(ed25519.getPublicKey(ownerSeed))
  const shared = x25519.getSharedSecret(ed25519.utils.toMontgomerySecret(ownerSeed), epk)
  const key = hkdf(sha256, shared, concat(epk, ownerX), utf8('ipms/envelope/v1'), 32)
  const padded = xchacha20poly1305(key, nonce, utf8(inbox)).decrypt(ct)
  const length = (padded[0]! << 24 | padded[1]! << 16 | padded[2]! << 8 | padded[3]!) >>> 0
  return padded.subarray(4, 4 + length)
}
