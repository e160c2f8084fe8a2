/**
 * The nonce search loop shared by the in-thread solver and the worker threads.
 *
 * A nonce is the u64be (hi, lo); the search walks all lo of one hi, then moves hi by `hiStep`
 * (worker i of n takes hi = i, i + n, …). `scanNonces` polls the stop flag and counts chunks in
 * the control array, so a solve can be stopped and watched through a SharedArrayBuffer with no
 * message traffic. Watch for: the fast path only sees the first hash word, so above 32 bits a
 * candidate (first word zero) is confirmed with `verifyPow` before it is returned.
 */
import { POW_NONCE_BYTES } from '../../constants.ts'
import { CONTROL_SLOTS, CONTROL_STOP, powMidstate, scanNonces, topBitsMask } from './sha256-block.ts'
import { verifyPow } from './verify.ts'

const WORD = 0x1_0000_0000

/** The 8-byte nonce u32be(hi) ‖ u32be(lo). */
export function nonceBytes (hi: number, lo: number): Uint8Array {
  const nonce = new Uint8Array(POW_NONCE_BYTES)
  const view = new DataView(nonce.buffer)
  view.setUint32(0, hi >>> 0)
  view.setUint32(4, lo >>> 0)
  return nonce
}

/**
 * Search for a nonce with `bits` leading zero bits, starting at (hiStart, loStart), hi moving by
 * `hiStep`. Returns the first found, or null when stopped through `control` (an Int32Array of
 * CONTROL_SLOTS, over a SharedArrayBuffer for workers) or when the nonce space is exhausted.
 * Arguments are trusted (checked by the callers).
 */
export function searchNonce (challenge: Uint8Array, bits: number, hiStart: number, hiStep: number, loStart: number, control: Int32Array = new Int32Array(CONTROL_SLOTS)): Uint8Array | null {
  const ctx = powMidstate(challenge)
  const mask = topBitsMask(bits)
  for (let hi = hiStart; hi < WORD; hi += hiStep) {
    let lo = hi === hiStart ? loStart : 0
    while (lo < WORD) {
      const offset = scanNonces(ctx, hi | 0, lo | 0, WORD - lo, mask, control)
      if (offset < 0) break
      const nonce = nonceBytes(hi, lo + offset)
      if (bits <= 32 || verifyPow(challenge, bits, nonce)) return nonce
      lo += offset + 1
    }
    if (Atomics.load(control, CONTROL_STOP) !== 0) return null
  }
  return null
}
