/**
 * HashCash proof-of-work for mail delivery: docs/PROTOCOL.md, MAIL entry payload (proof-of-work).
 *
 * ```ts
 * import { powChallenge, solvePow, verifyPow } from './crypto/pow/index.ts'
 *
 * const challenge = powChallenge({ bits: 22, ts: Date.now(), inbox, envelopeCid })
 * const nonce = await solvePow(challenge, 22, { signal, onProgress: p => console.log(p.attempts) })
 * verifyPow(challenge, 22, nonce) // true: what a host checks, one hash
 * ```
 *
 * The sender grinds 8-byte nonces until SHA-256(challenge ‖ nonce) has `bits` leading zero bits;
 * the host checks it with one hash. The solver uses every core through a worker pool that is
 * reused and never keeps the process alive; call `closePowPool()` to end it early.
 */
export { powChallenge, requiredPowBits, extraPowBits, type PowChallengeParams } from './challenge.ts'
export { verifyPow, leadingZeroBits, POW_CHALLENGE_BYTES } from './verify.ts'
export {
  solvePow,
  solvePowSync,
  closePowPool,
  SYNC_MAX_BITS,
  type PowProgress,
  type SolvePowOptions
} from './solve.ts'
