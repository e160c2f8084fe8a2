/**
 * The PoW challenge: the 32 bytes a sender grinds nonces against. docs/PROTOCOL.md, MAIL entry
 * payload (proof-of-work).
 *
 *   challenge = SHA-256( "ipms/pow/v1" ‖ 0x00 ‖ u8(bits) ‖ u64be(ts)
 *                        ‖ u16be(len) ‖ utf8(inbox) ‖ u16be(len) ‖ cidBytes )
 *
 * `bits` (the inbox's difficulty plus the envelope's size extra, `requiredPowBits`, §5.2) is
 * committed so that a stamp made for an easy inbox or a small envelope cannot pass for a harder one;
 * `ts`, the inbox address and the envelope CID bind the stamp to one delivery (as NIP-13 does).
 * Watch for: `ts` is integer milliseconds, and the CID is hashed as its binary form (`cid.bytes`),
 * so CIDv0 and CIDv1 of the same block give different challenges.
 */
import { createHash } from 'node:crypto'
import { CID } from 'multiformats/cid'
import { MAX_ENVELOPE_BYTES, MAX_POW_BITS, MAX_STAMP_BITS, MIN_POW_BITS, POW_BASE_SIZE_LOG2, TAG_POW } from '../../constants.ts'
import { InvalidArgumentError } from '../../errors.ts'
import { lengthPrefixed, taggedBytes, uintBE, utf8Bytes } from '../codec.ts'
import { POW_CHALLENGE_BYTES } from './verify.ts'
import { isBytes } from '../../util/fields.ts'

export interface PowChallengeParams {
  /** Difficulty of this stamp in leading zero bits (`requiredPowBits`), an integer in [MIN_POW_BITS, MAX_STAMP_BITS]. */
  bits: number
  /** Time of the MAIL entry, integer milliseconds since the Unix epoch. */
  ts: number
  /** Address of the inbox (an OrbitDB address) the mail is delivered to; non-empty. */
  inbox: string
  /** CID of the envelope block. */
  envelopeCid: CID
}

/** Throws `InvalidArgumentError` unless `bits` is an integer in [MIN_POW_BITS, MAX_STAMP_BITS]. */
export function checkPowBits (bits: unknown): asserts bits is number {
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < MIN_POW_BITS || bits > MAX_STAMP_BITS) {
    throw new InvalidArgumentError(`PoW bits must be an integer from ${MIN_POW_BITS} to ${MAX_STAMP_BITS}`)
  }
}

/**
 * Extra bits a stamp needs for an envelope of `size` bytes (docs/PROTOCOL.md §5.2):
 * max(0, ⌊log2 size⌋ − 16), so the expected work doubles with every doubling of the envelope
 * from 128 KiB on; 0 to 6 for sizes 1 to MAX_ENVELOPE_BYTES. `size` is a checked integer.
 */
export function extraPowBits (size: number): number {
  // ⌊log2 size⌋ of a positive integer below 2^32, without floating point.
  return Math.max(0, 31 - Math.clz32(size) - POW_BASE_SIZE_LOG2)
}

/**
 * The difficulty a MAIL stamp must reach, and the `bits` its challenge commits: the inbox's
 * difficulty plus `extraPowBits(size)`. Throws `InvalidArgumentError` for an inbox difficulty
 * outside [MIN_POW_BITS, MAX_POW_BITS] or a size outside [1, MAX_ENVELOPE_BYTES].
 */
export function requiredPowBits (inboxBits: number, size: number): number {
  if (typeof inboxBits !== 'number' || !Number.isInteger(inboxBits) || inboxBits < MIN_POW_BITS || inboxBits > MAX_POW_BITS) {
    throw new InvalidArgumentError(`An inbox difficulty is an integer from ${MIN_POW_BITS} to ${MAX_POW_BITS} bits`)
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1 || size > MAX_ENVELOPE_BYTES) {
    throw new InvalidArgumentError(`An envelope size is 1 to ${MAX_ENVELOPE_BYTES} bytes`)
  }
  return inboxBits + extraPowBits(size)
}

/** Throws `InvalidArgumentError` unless `challenge` is a 32-byte Uint8Array. */
export function checkPowChallenge (challenge: unknown): asserts challenge is Uint8Array {
  if (!(isBytes(challenge)) || challenge.byteLength !== POW_CHALLENGE_BYTES) {
    throw new InvalidArgumentError(`A PoW challenge must be a ${POW_CHALLENGE_BYTES}-byte Uint8Array`)
  }
}

/** The 32-byte challenge of a delivery; throws `InvalidArgumentError` on bad parameters. */
export function powChallenge (params: PowChallengeParams): Uint8Array {
  if (params == null || typeof params !== 'object') throw new InvalidArgumentError('powChallenge needs { bits, ts, inbox, envelopeCid }')
  const { bits, ts, inbox, envelopeCid } = params
  checkPowBits(bits)
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0) {
    throw new InvalidArgumentError('PoW ts must be a non-negative integer of milliseconds')
  }
  if (typeof inbox !== 'string' || inbox.length === 0) throw new InvalidArgumentError('PoW inbox must be a non-empty string (an OrbitDB address)')
  const inboxBytes = utf8Bytes(inbox)
  if (inboxBytes.byteLength > 0xffff) throw new InvalidArgumentError(`PoW inbox address is ${inboxBytes.byteLength} bytes, over 65535`)
  // asCID also accepts a CID made by another copy of multiformats.
  const cid = CID.asCID(envelopeCid)
  if (cid == null) throw new InvalidArgumentError('PoW envelopeCid must be a CID')
  const input = taggedBytes(TAG_POW, uintBE(bits, 1), uintBE(ts, 8), lengthPrefixed(inboxBytes), lengthPrefixed(cid.bytes))
  return new Uint8Array(createHash('sha256').update(input).digest())
}
