/**
 * Owner-signed records (grants, address cards, contacts' passes): the one path from a copy-pasted string to a checked
 * record, and back (docs/PROTOCOL.md §11).
 *
 *   text   = prefix ‖ base58btc multibase (z…) of the dag-cbor record
 *   record = { v: 1, owner, …fields, sig }
 *   sig    = Ed25519(owner seed, tag ‖ 0x00 ‖ dag-cbor(record without sig))
 *
 * Untrusted text goes: prefix → size cap → base58btc → dag-cbor → version → shape (the caller's
 * check) → owner's peer-id → signature. Every failure is an InvalidRecordError saying which step.
 */
import { base58btc } from 'multiformats/bases/base58'
import { FORMAT_VERSION, MAX_SIGNED_RECORD_BYTES } from '../constants.ts'
import { decodeCbor, encodeCbor, taggedBytes } from '../crypto/codec.ts'
import { signEd25519, verifyEd25519 } from '../crypto/keys.ts'
import { InvalidRecordError, IpmsError, UnsupportedVersionError } from '../errors.ts'
import type { Identity } from '../identity/identity.ts'
import { parsePeerId } from '../identity/peer-id.ts'
import { describe, isBytes, isPlainMap, isTime } from '../util/fields.ts'

/** The fields every signed record has. */
export interface SignedRecord {
  v: 1
  /** The owner's peer-id; its key signs the record. */
  owner: string
}

/** Sign `fields` as `owner`: returns the record with `v`, `owner` and `sig`. */
export function signRecord<T extends Record<string, unknown>> (tag: string, owner: Identity, fields: T): T & SignedRecord & { sig: Uint8Array } {
  const unsigned = { ...fields, v: FORMAT_VERSION, owner: owner.peerId }
  return { ...unsigned, sig: signEd25519(owner.seed, taggedBytes(tag, encodeCbor(unsigned))) } as T & SignedRecord & { sig: Uint8Array }
}

/** The text form of a record. */
export function encodeRecord (prefix: string, record: object): string {
  return prefix + base58btc.encode(encodeCbor(record))
}

/**
 * Read a record from text or bytes: decode, check the version, the shape (`problem` returns what is
 * wrong, or undefined) and the owner's signature.
 */
export function decodeRecord<T extends SignedRecord & { sig: Uint8Array }> (
  input: string | Uint8Array, prefix: string, tag: string, what: string, problem: (value: Record<string, unknown>) => string | undefined
): T {
  let bytes: Uint8Array
  if (typeof input === 'string') {
    const text = input.trim()
    if (!text.startsWith(prefix)) throw new InvalidRecordError(`This is not an IPMS ${what}: it should start with "${prefix}"`)
    if (text.length > MAX_SIGNED_RECORD_BYTES * 2) throw new InvalidRecordError(`This ${what} is too long to be one`)
    try {
      bytes = base58btc.decode(text.slice(prefix.length))
    } catch (err) {
      throw new InvalidRecordError(`This ${what} is damaged (not base58btc after "${prefix}"): copy it again whole`, { cause: err })
    }
  } else {
    bytes = input
  }
  let value: unknown
  try {
    value = decodeCbor(bytes, MAX_SIGNED_RECORD_BYTES, what)
  } catch (err) {
    throw new InvalidRecordError(`This ${what} is damaged: ${(err as Error).message}`, { cause: err })
  }
  // A plain map only: a decoded `__proto__` key would give it a prototype whose fields `in` sees.
  if (!isPlainMap(value)) throw new InvalidRecordError(`This ${what} is damaged: not a map`)
  const fields = value
  if (fields.v !== FORMAT_VERSION) throw new UnsupportedVersionError(`This ${what} has version ${describe(fields.v)}; this IPMS reads version ${FORMAT_VERSION}. Upgrade IPMS`)
  const shape = problem(fields)
  if (shape !== undefined) throw new InvalidRecordError(`This ${what} is malformed: ${shape}`)
  if (!(isBytes(fields.sig))) throw new InvalidRecordError(`This ${what} is malformed: sig must be bytes`)
  let ownerKey: Uint8Array
  try {
    const parsed = parsePeerId(fields.owner as string)
    if (parsed.peerId !== fields.owner) throw new InvalidRecordError('owner is not written as a canonical peer-id')
    ownerKey = parsed.publicKey
  } catch (err) {
    throw new InvalidRecordError(`This ${what} names an owner that is not an IPMS address: ${(err as IpmsError).message}`, { cause: err })
  }
  const { sig, ...unsigned } = fields
  if (!verifyEd25519(ownerKey, taggedBytes(tag, encodeCbor(unsigned)), sig)) {
    throw new InvalidRecordError(`This ${what} is not signed by its owner ${fields.owner as string}: it is forged or was altered`)
  }
  return fields as T
}

/** Field check helpers for `problem` functions. */
export const isPeerIdText = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= 128
/** A canonical IPMS address (§2): a field another node matches by string equality must be written so. */
export const isCanonicalPeerId = (value: unknown): value is string => {
  if (!isPeerIdText(value)) return false
  try {
    return parsePeerId(value).peerId === value
  } catch {
    return false
  }
}
export { isTime } from '../util/fields.ts'
export const hasOnly = (fields: Record<string, unknown>, allowed: string[]): string | undefined => {
  const extra = Object.keys(fields).find(k => !allowed.includes(k))
  return extra === undefined ? undefined : `unknown field "${extra}"`
}

/** The lifetime of a record that has one (grants, passes): signed at `now`, lasting `ttlMs`. */
export interface LifetimeOptions {
  /** Lifetime in ms from now; default: no expiry. */
  ttlMs?: number
  /** Signing time (default now). */
  now?: number
}

/** The `issued` and optional `expires` fields of a record signed with these options. */
export function lifetimeFields (options: LifetimeOptions): { issued: number, expires?: number } {
  const issued = options.now ?? Date.now()
  return options.ttlMs === undefined ? { issued } : { issued, expires: issued + options.ttlMs }
}

/** A record with a lifetime: `issued`, and `expires` unless it holds for ever. */
export interface DatedRecord extends SignedRecord {
  /** When the owner signed it, ms since the epoch. */
  issued: number
  /** Until when it holds, ms since the epoch; absent: no expiry. */
  expires?: number
  sig: Uint8Array
}

/**
 * The shape check of a dated record whose own fields are `own`: no other fields, an owner, then
 * `ownProblem` (what is wrong with its own fields, or undefined), then `issued` and `expires?`.
 */
export function datedRecordProblem (fields: Record<string, unknown>, own: string[], ownProblem: (fields: Record<string, unknown>) => string | undefined): string | undefined {
  const extra = hasOnly(fields, ['v', 'owner', 'issued', 'expires', 'sig', ...own])
  if (extra !== undefined) return extra
  if (!isPeerIdText(fields.owner)) return 'owner must be a peer-id'
  const problem = ownProblem(fields)
  if (problem !== undefined) return problem
  if (!isTime(fields.issued)) return 'issued must be a time in ms'
  if ('expires' in fields && (!isTime(fields.expires) || fields.expires <= fields.issued)) return 'expires must be a time after issued'
  return undefined
}

/** True when a record with an expiry is past it at `now`. */
export const expiredAt = (record: { expires?: number }, now: number): boolean => record.expires !== undefined && record.expires <= now
