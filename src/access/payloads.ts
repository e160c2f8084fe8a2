/**
 * The payloads of inbox log entries, v1 (docs/PROTOCOL.md §9): what hosts can see of a mail, and
 * the owner's prune orders. Pure functions: the access controller, the mailbox store and the
 * delivery protocol all check payloads here, the same way.
 *
 *   MAIL  = { op: "MAIL",  v: 1, env: CID string, size: uint, ts: uint, pow: bytes(8) }
 *   PRUNE = { op: "PRUNE", v: 1, entries: [entry hash], ts: uint, sig: bytes(64) }
 *   PRUNE sig = Ed25519(owner, "ipms/prune/v1" ‖ 0x00 ‖ dag-cbor({ inbox, entries, ts }))
 *
 * Watch for: these checks run on attacker-controlled data before the entry's own signature is
 * checked (docs/DESIGN.md §3, §5), so they never throw and never look at the clock or the network.
 */
import { CID } from 'multiformats/cid'
import { base58btc } from 'multiformats/bases/base58'
import * as dagCbor from '@ipld/dag-cbor'
import { sha256 } from 'multiformats/hashes/sha2'
import { ED25519_SIGNATURE_BYTES, FORMAT_VERSION, MAX_ENVELOPE_BYTES, MAX_PRUNE_ENTRIES, POW_NONCE_BYTES, TAG_PRUNE } from '../constants.ts'
import { encodeCbor, taggedBytes } from '../crypto/codec.ts'
import { signEd25519, verifyEd25519 } from '../crypto/keys.ts'
import { powChallenge, requiredPowBits, verifyPow } from '../crypto/pow/index.ts'
import { problemOf, type Problem } from '../errors.ts'
import { hasExactly, isBytes, isPlainMap, isTime } from '../util/fields.ts'

/** What a host sees of one mail: the envelope's CID and size, the delivery time, the stamp. */
export interface MailPayload {
  op: 'MAIL'
  v: 1
  /** CIDv1 (dag-cbor, sha2-256) of the envelope block, as its canonical base32 string. */
  env: string
  /** Envelope size in bytes. */
  size: number
  /** Delivery time, ms since the epoch (the PoW commits to it). */
  ts: number
  /** The 8-byte proof-of-work nonce. */
  pow: Uint8Array
}

/** The owner's order to drop the envelopes of the listed MAIL entries. */
export interface PrunePayload {
  op: 'PRUNE'
  v: 1
  /** Hashes of MAIL entries (OrbitDB entry CIDs, base58btc `zdpu…`). */
  entries: string[]
  ts: number
  /** Owner's Ed25519 signature, 64 bytes. */
  sig: Uint8Array
}

export type InboxPayload = MailPayload | PrunePayload

const MAIL_KEYS = ['env', 'op', 'pow', 'size', 'ts', 'v']
const PRUNE_KEYS = ['entries', 'op', 'sig', 'ts', 'v']

/** The envelope CID of a canonical envelope reference, or undefined. */
export function parseEnvelopeCid (text: unknown): CID | undefined {
  if (typeof text !== 'string' || text.length > 100) return undefined
  try {
    const cid = CID.parse(text)
    const ok = cid.version === 1 && cid.code === dagCbor.code && cid.multihash.code === sha256.code && cid.toString() === text
    return ok ? cid : undefined
  } catch {
    return undefined
  }
}

/** True for a canonical OrbitDB entry hash (CIDv1 dag-cbor sha2-256, base58btc). */
export function isEntryHash (text: unknown): text is string {
  if (typeof text !== 'string' || text.length > 100) return false
  try {
    const cid = CID.parse(text, base58btc)
    return cid.version === 1 && cid.code === dagCbor.code && cid.multihash.code === sha256.code && cid.toString(base58btc) === text
  } catch {
    return false
  }
}

/**
 * What is wrong with the shape of a MAIL payload (every field but the stamp's validity), or
 * undefined: always ERR_MALFORMED. Never throws. A host checks this before it looks the inbox up (§12).
 */
export const mailPayloadShapeProblem = (value: unknown): Problem<'ERR_MALFORMED'> | undefined => problemOf('ERR_MALFORMED', mailShape(value))

/** What is wrong with a MAIL payload's fields, in words. */
function mailShape (value: unknown): string | undefined {
  if (!isPlainMap(value)) return 'not a map'
  if (value.op !== 'MAIL') return 'op is not MAIL'
  if (value.v !== FORMAT_VERSION) return `version is not ${FORMAT_VERSION}`
  if (!hasExactly(value, MAIL_KEYS)) return `fields must be exactly ${MAIL_KEYS.join(', ')}`
  if (parseEnvelopeCid(value.env) === undefined) return 'env is not a canonical envelope CID (CIDv1, dag-cbor, sha2-256, base32)'
  if (typeof value.size !== 'number' || !Number.isSafeInteger(value.size) || value.size < 1 || value.size > MAX_ENVELOPE_BYTES) return `size must be 1 to ${MAX_ENVELOPE_BYTES} bytes`
  if (!isTime(value.ts)) return 'ts must be whole milliseconds since 1970'
  if (!(isBytes(value.pow)) || value.pow.byteLength !== POW_NONCE_BYTES) return `pow must be ${POW_NONCE_BYTES} bytes`
  return undefined
}

/**
 * What is wrong with a MAIL payload for `inbox` at difficulty `bits` (the inbox's; the stamp must
 * reach `requiredPowBits(bits, size)`, §5.2), or undefined: ERR_MALFORMED for its shape,
 * ERR_BAD_POW for its stamp. Never throws.
 */
export function mailPayloadProblem (value: unknown, inbox: string, bits: number): Problem<'ERR_MALFORMED' | 'ERR_BAD_POW'> | undefined {
  return mailPayloadShapeProblem(value) ?? mailStampProblem(value as unknown as MailPayload, inbox, bits)
}

/**
 * Whether the stamp of a MAIL payload whose shape is checked (`mailPayloadShapeProblem`) reaches
 * the difficulty its envelope needs in `inbox` at `bits` (§5.2). Never throws.
 */
export function mailStampProblem (mail: MailPayload, inbox: string, bits: number): Problem<'ERR_BAD_POW'> | undefined {
  try {
    const required = requiredPowBits(bits, mail.size)
    const challenge = powChallenge({ bits: required, ts: mail.ts, inbox, envelopeCid: parseEnvelopeCid(mail.env)! })
    if (!verifyPow(challenge, required, mail.pow)) return { code: 'ERR_BAD_POW', message: `the proof-of-work does not reach ${required} bits (${bits} for the inbox, more for a ${mail.size}-byte envelope)` }
  } catch {
    return { code: 'ERR_BAD_POW', message: 'the proof-of-work cannot be checked' }
  }
  return undefined
}

/** The bytes the owner signs for a PRUNE: the inbox binds it to one inbox of this owner. */
export function pruneSigningInput (inbox: string, entries: string[], ts: number): Uint8Array {
  return taggedBytes(TAG_PRUNE, encodeCbor({ inbox, entries, ts }))
}

/** A signed PRUNE payload. */
export function signPrune (inbox: string, entries: string[], ts: number, ownerSeed: Uint8Array): PrunePayload {
  return { op: 'PRUNE', v: FORMAT_VERSION, entries, ts, sig: signEd25519(ownerSeed, pruneSigningInput(inbox, entries, ts)) }
}

/**
 * What is wrong with a PRUNE payload for `inbox` owned by `ownerPublicKey`, or undefined:
 * ERR_MALFORMED for its shape, ERR_BAD_SIGNATURE when the owner did not sign it. Never throws.
 */
export function prunePayloadProblem (value: unknown, inbox: string, ownerPublicKey: Uint8Array): Problem<'ERR_MALFORMED' | 'ERR_BAD_SIGNATURE'> | undefined {
  const shape = problemOf('ERR_MALFORMED', pruneShape(value))
  if (shape !== undefined) return shape
  const { entries, ts, sig } = value as unknown as PrunePayload
  try {
    if (verifyEd25519(ownerPublicKey, pruneSigningInput(inbox, entries, ts), sig)) return undefined
  } catch {
    return { code: 'ERR_BAD_SIGNATURE', message: 'sig cannot be checked' }
  }
  return { code: 'ERR_BAD_SIGNATURE', message: 'sig is not the owner\'s signature' }
}

/** What is wrong with a PRUNE payload's fields (not its signature), in words. */
function pruneShape (value: unknown): string | undefined {
  if (!isPlainMap(value)) return 'not a map'
  if (value.op !== 'PRUNE') return 'op is not PRUNE'
  if (value.v !== FORMAT_VERSION) return `version is not ${FORMAT_VERSION}`
  if (!hasExactly(value, PRUNE_KEYS)) return `fields must be exactly ${PRUNE_KEYS.join(', ')}`
  const { entries, ts, sig } = value
  if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_PRUNE_ENTRIES) return `entries must list 1 to ${MAX_PRUNE_ENTRIES} entry hashes`
  if (!entries.every(isEntryHash)) return 'entries must be entry hashes (zdpu…)'
  if (new Set(entries).size !== entries.length) return 'entries must not repeat'
  if (!isTime(ts)) return 'ts must be whole milliseconds since 1970'
  if (!(isBytes(sig)) || sig.byteLength !== ED25519_SIGNATURE_BYTES) return `sig must be ${ED25519_SIGNATURE_BYTES} bytes`
  return undefined
}
