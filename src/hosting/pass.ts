/**
 * Contacts' passes (docs/PROTOCOL.md §11.3): the owner's signed word that whoever shows this pass
 * may deliver into the owner's inbox against the pass's own share of a host's quota, past a quota
 * that strangers have filled. The owner gives one to each contact; the contact sends it along with
 * each delivery (§12), and a host counts that mail against the pass rather than the strangers.
 *
 *   pass = { v: 1, owner, id: bytes(16) random, issued, expires?, sig }   tag "ipms/pass/v1"
 *   text = "ipmspass" ‖ base58btc(dag-cbor(pass))
 *
 * Watch for: a pass names no contact (the owner's list of who got which id stays in the owner's
 * home), but every delivery with one pass is linkable to the others by the host. Passes cannot be
 * revoked; their expiry bounds them.
 */
import { PASS_ID_BYTES, PASS_PREFIX, TAG_PASS } from '../constants.ts'
import { encodeCbor } from '../crypto/codec.ts'
import { randomBytes } from '../crypto/random.ts'
import { InvalidRecordError, PassExpiredError } from '../errors.ts'
import type { Identity } from '../identity/identity.ts'
import { parsePeerId } from '../identity/peer-id.ts'
import { datedRecordProblem, decodeRecord, encodeRecord, expiredAt, lifetimeFields, signRecord, type DatedRecord, type LifetimeOptions } from './signed-record.ts'
import { isBytes } from '../util/fields.ts'

/** A contact's pass; without `expires` it holds for ever (the CLI always sets one). */
export interface Pass extends DatedRecord {
  /** Random, 16 bytes: what a host counts the pass's deliveries under. */
  id: Uint8Array
}

const passProblem = (fields: Record<string, unknown>): string | undefined =>
  datedRecordProblem(fields, ['id'], f => isBytes(f.id) && f.id.byteLength === PASS_ID_BYTES ? undefined : `id must be ${PASS_ID_BYTES} bytes`)

/** The owner signs a new pass (a fresh random id) to give one contact. */
export function createPass (owner: Identity, options: LifetimeOptions = {}): Pass {
  return signRecord(TAG_PASS, owner, { id: randomBytes(PASS_ID_BYTES), ...lifetimeFields(options) }) as unknown as Pass
}

export const encodePass = (pass: Pass): string => encodeRecord(PASS_PREFIX, pass)

/** The bytes a deliver request carries (§12): the pass's dag-cbor. */
export const passBytes = (pass: Pass): Uint8Array => encodeCbor(pass)

/** A pass id as text (hex), for lists and logs. */
export const passIdText = (pass: Pick<Pass, 'id'>): string => Buffer.from(pass.id).toString('hex')

/**
 * Read and check a pass: signed by its owner, of `owner` when given, unexpired at `now`.
 * InvalidRecordError (damaged, forged, another owner's), PassExpiredError, UnsupportedVersionError.
 */
export function verifyPass (input: string | Uint8Array | Pass, options: { owner?: string, now?: number } = {}): Pass {
  const source = typeof input === 'string' || isBytes(input) ? input : encodeCbor(input)
  const pass = decodeRecord<Pass>(source, PASS_PREFIX, TAG_PASS, 'pass', passProblem)
  if (options.owner !== undefined && pass.owner !== parsePeerId(options.owner).peerId) {
    throw new InvalidRecordError(`This pass is ${pass.owner}'s, not ${options.owner}'s: it lets you write to its owner only`)
  }
  if (expiredAt(pass, options.now ?? Date.now())) {
    throw new PassExpiredError(`The pass from ${pass.owner} expired on ${new Date(pass.expires!).toISOString()}: ask them for a new one (ipms contacts pass)`)
  }
  return pass
}
