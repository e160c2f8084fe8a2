/**
 * PoW stamp verification: SHA-256(challenge ‖ nonce) has at least `bits` leading zero bits.
 * docs/PROTOCOL.md, MAIL entry payload (proof-of-work).
 *
 * This is the reference path: one node:crypto hash, nothing shared with the solver's hand-written
 * SHA-256, so a solver bug cannot make a bad stamp pass. Hosts call it on untrusted input, so it
 * never throws: anything malformed is simply `false`.
 */
import { createHash } from 'node:crypto'
import { MAX_STAMP_BITS, MIN_POW_BITS, POW_NONCE_BYTES } from '../../constants.ts'
import { isBytes } from '../../util/fields.ts'

// Defined here, not in challenge.ts, so that worker threads (which import this file) do not load
// the CID and CBOR libraries.
/** Bytes of a challenge (a SHA-256 digest). */
export const POW_CHALLENGE_BYTES = 32

/** Number of leading zero bits of `bytes`, most significant bit of byte 0 first. */
export function leadingZeroBits (bytes: Uint8Array): number {
  let bits = 0
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!
    if (byte !== 0) return bits + Math.clz32(byte) - 24
    bits += 8
  }
  return bits
}

/**
 * Whether `nonce` is a valid stamp for `challenge` at difficulty `bits`. Costs exactly one
 * SHA-256 of 40 bytes for well-formed input; returns `false` (never throws) for anything else:
 * wrong types or lengths, bits outside [MIN_POW_BITS, MAX_STAMP_BITS].
 */
export function verifyPow (challenge: Uint8Array, bits: number, nonce: Uint8Array): boolean {
  try {
    if (!(isBytes(challenge)) || challenge.byteLength !== POW_CHALLENGE_BYTES) return false
    if (!(isBytes(nonce)) || nonce.byteLength !== POW_NONCE_BYTES) return false
    if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < MIN_POW_BITS || bits > MAX_STAMP_BITS) return false
    const digest = createHash('sha256').update(challenge).update(nonce).digest()
    return leadingZeroBits(digest) >= bits
  } catch {
    // A hostile object (a Proxy with throwing traps) still gets a plain "no".
    return false
  }
}
