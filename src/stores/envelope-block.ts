/**
 * An envelope block whose bytes were checked against its CID (CIDv1, dag-cbor, sha2-256, the
 * canonical string of PROTOCOL.md §9.2) once, where they came in; the mailbox then stores it
 * without hashing it again.
 *
 * Watch for: only `envelopeBlock` makes these; the mailbox asks `isCheckedEnvelope` and hashes
 * anything else itself, so a hand-made object cannot slip unchecked bytes in.
 */
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { parseEnvelopeCid } from '../access/payloads.ts'

export interface EnvelopeBlock {
  /** The envelope CID string (`bafy…`). */
  readonly env: string
  readonly cid: CID
  readonly bytes: Uint8Array
}

const checked = new WeakSet<EnvelopeBlock>()

/** The block when `bytes` hash to the envelope CID `env`; undefined otherwise. */
export async function envelopeBlock (env: string, bytes: Uint8Array): Promise<EnvelopeBlock | undefined> {
  const cid = parseEnvelopeCid(env)
  if (cid === undefined) return undefined
  if (!CID.createV1(cid.code, await sha256.digest(bytes)).equals(cid)) return undefined
  const block = Object.freeze({ env, cid, bytes })
  checked.add(block)
  return block
}

/** True for a block made by `envelopeBlock`. */
export const isCheckedEnvelope = (block: EnvelopeBlock): boolean => checked.has(block)
