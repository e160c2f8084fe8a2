/**
 * Host grants (docs/PROTOCOL.md §11.1): the owner's signed word that one host may keep and serve
 * the owner's inbox. A host keeps an inbox only with a valid, unexpired grant from its owner.
 *
 *   grant = { v: 1, owner, host, issued, expires?, sig }   sig with tag "ipms/grant/v1"
 *   text  = "ipmsgrant" ‖ base58btc(dag-cbor(grant))
 */
import { GRANT_PREFIX, TAG_GRANT } from '../constants.ts'
import { encodeCbor } from '../crypto/codec.ts'
import { GrantExpiredError, InvalidRecordError } from '../errors.ts'
import type { Identity } from '../identity/identity.ts'
import { parsePeerId } from '../identity/peer-id.ts'
import { datedRecordProblem, decodeRecord, encodeRecord, expiredAt, isCanonicalPeerId, lifetimeFields, signRecord, type DatedRecord, type LifetimeOptions } from './signed-record.ts'
import { isBytes } from '../util/fields.ts'

/** A host grant; without `expires`, it holds until the owner drops the host from a newer card. */
export interface Grant extends DatedRecord {
  /** The host's peer-id. */
  host: string
}

const grantProblem = (fields: Record<string, unknown>): string | undefined =>
  datedRecordProblem(fields, ['host'], f => isCanonicalPeerId(f.host) ? undefined : 'host must be a canonical IPMS address (12D3KooW…)')

export type GrantOptions = LifetimeOptions

/** The owner grants `host` (a peer-id) the keeping of the owner's inbox. */
export function createGrant (owner: Identity, host: string, options: GrantOptions = {}): Grant {
  return signRecord(TAG_GRANT, owner, { host: parsePeerId(host).peerId, ...lifetimeFields(options) }) as unknown as Grant
}

export const encodeGrant = (grant: Grant): string => encodeRecord(GRANT_PREFIX, grant)

/**
 * Read and check a grant: signed by its owner, for `host` when given, unexpired at `now`.
 * InvalidRecordError (damaged, forged, another host), GrantExpiredError, UnsupportedVersionError.
 */
export function verifyGrant (input: string | Uint8Array | Grant, options: { host?: string, now?: number } = {}): Grant {
  const source = typeof input === 'string' || isBytes(input) ? input : encodeCbor(input)
  const grant = decodeRecord<Grant>(source, GRANT_PREFIX, TAG_GRANT, 'grant', grantProblem)
  if (options.host !== undefined && grant.host !== parsePeerId(options.host).peerId) {
    throw new InvalidRecordError(`This grant is for host ${grant.host}, not for ${options.host}`)
  }
  if (expiredAt(grant, options.now ?? Date.now())) {
    throw new GrantExpiredError(`The grant of ${grant.owner} to ${grant.host} expired on ${new Date(grant.expires!).toISOString()}: ask the owner for a new one`)
  }
  return grant
}
