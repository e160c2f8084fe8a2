/**
 * The inbox address: computed offline from the owner's peer-id and the inbox difficulty
 * (docs/PROTOCOL.md §9.1). Anyone who knows a peer-id knows where to deliver.
 *
 *   access block = dag-cbor { type: "ipms-inbox", owner: peer-id, bits, rules: 2 }
 *   access addr  = "/ipms-inbox/" ‖ base58btc(CIDv1(dag-cbor, sha2-256(access block)))
 *   manifest     = dag-cbor { name: "ipms/" ‖ peer-id, type: "ipms-mailbox", accessController: access addr }
 *   inbox        = "/orbitdb/" ‖ base58btc(CIDv1(dag-cbor, sha2-256(manifest)))
 *
 * This is exactly what OrbitDB 4 computes when the inbox is opened by name with the
 * `ipms-inbox` controller (test/access/inbox-address.test.ts checks it against OrbitDB itself).
 * The rules version is in the access block because the controller's code is not: a change of
 * what an inbox accepts must change its address.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { DEFAULT_POW_BITS, INBOX_ACCESS_TYPE, INBOX_DATABASE_TYPE, INBOX_RULES_VERSION, MAX_POW_BITS, MIN_POW_BITS } from '../constants.ts'
import { InvalidArgumentError } from '../errors.ts'
import { parsePeerId } from '../identity/peer-id.ts'

/** What an inbox's access block holds: everything its rules depend on. */
export interface InboxParams {
  /** The owner's canonical peer-id. */
  owner: string
  /** PoW difficulty every MAIL entry must meet. */
  bits: number
  /** Version of the `canAppend` rules. */
  rules: number
}

/** A block as OrbitDB stores it: its base58btc CID string and its bytes. */
export interface HashedBlock {
  hash: string
  bytes: Uint8Array
}

function hashBlock (value: unknown): HashedBlock {
  const bytes = dagCbor.encode(value)
  // multiformats' Node sha256 digests synchronously.
  const digest = sha256.digest(bytes) as Awaited<ReturnType<typeof sha256.digest>>
  return { hash: CID.create(1, dagCbor.code, digest).toString(base58btc), bytes }
}

/** Check and normalise inbox parameters; the owner may be given in any accepted peer-id form. */
export function inboxParams (owner: string, bits: number = DEFAULT_POW_BITS): InboxParams {
  if (!Number.isInteger(bits) || bits < MIN_POW_BITS || bits > MAX_POW_BITS) {
    throw new InvalidArgumentError(`An inbox difficulty is a whole number of bits from ${MIN_POW_BITS} to ${MAX_POW_BITS}, got ${String(bits)}`)
  }
  return { owner: parsePeerId(owner).peerId, bits, rules: INBOX_RULES_VERSION }
}

/** The access block of an inbox. */
export function accessBlock (params: InboxParams): HashedBlock {
  return hashBlock({ type: INBOX_ACCESS_TYPE, owner: params.owner, bits: params.bits, rules: params.rules })
}

/** The OrbitDB database name of an inbox. */
export function inboxName (owner: string): string {
  return `ipms/${owner}`
}

/** The access controller address written in the manifest. */
export function accessAddress (params: InboxParams, access: HashedBlock = accessBlock(params)): string {
  return `/${INBOX_ACCESS_TYPE}/${access.hash}`
}

/** The manifest block of an inbox (`access`: its access block, when the caller has it: not hashed again). */
export function manifestBlock (params: InboxParams, access: HashedBlock = accessBlock(params)): HashedBlock {
  return hashBlock({ name: inboxName(params.owner), type: INBOX_DATABASE_TYPE, accessController: accessAddress(params, access) })
}

/** The inbox address of `owner` at difficulty `bits` (default DEFAULT_POW_BITS), computed offline. */
export function inboxAddress (owner: string, bits: number = DEFAULT_POW_BITS): string {
  return `/orbitdb/${manifestBlock(inboxParams(owner, bits)).hash}`
}

/** Read inbox parameters back from an access block's value; undefined if it is not one. */
export function paramsFromAccessBlock (value: unknown): InboxParams | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const { type, owner, bits, rules } = value as Record<string, unknown>
  if (type !== INBOX_ACCESS_TYPE || typeof owner !== 'string' || typeof bits !== 'number' || typeof rules !== 'number') return undefined
  try {
    const params = inboxParams(owner, bits)
    return params.owner === owner && rules === INBOX_RULES_VERSION ? params : undefined
  } catch {
    return undefined
  }
}
