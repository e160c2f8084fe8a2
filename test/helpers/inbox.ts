/** Helpers for inbox tests: valid MAIL payloads for an inbox, fake entry hashes, entries signed by hand. */
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import type { OrbitDBIdentity } from '@orbitdb/core'
import type { MailPayload } from '../../src/access/payloads.ts'
import { powChallenge, requiredPowBits, solvePowSync, verifyPow } from '../../src/crypto/pow/index.ts'
import { inboxAddress } from '../../src/access/inbox-address.ts'
import type { Identity } from '../../src/identity/identity.ts'
import { sealMail } from '../../src/mail/seal.ts'
import type { ErrorCode, Problem } from '../../src/errors.ts'

/** Assert that a check found a problem with this code, and a message that says `message`. */
export function assertProblem (problem: Problem | undefined, code: ErrorCode, message: RegExp, what?: string): void {
  assert.equal(problem?.code, code, what ?? `expected ${code}, got ${JSON.stringify(problem)}`)
  assert.match(problem.message, message, what)
}

/** A random envelope CID (as if of a real envelope block). */
export function randomEnvelopeCid (): CID {
  return CID.create(1, dagCbor.code, sha256.digest(crypto.randomBytes(64)) as Awaited<ReturnType<typeof sha256.digest>>)
}

/** A random entry hash in OrbitDB's form (base58btc CIDv1 dag-cbor). */
export function randomEntryHash (): string {
  return randomEnvelopeCid().toString(base58btc)
}

/**
 * A MAIL payload with a solved stamp for `inbox` at difficulty `bits`, plus the extra bits of its
 * `size` (PROTOCOL §5.2; solved in-thread: keep bits low).
 */
export function mailPayload (inbox: string, bits: number, { envelopeCid = randomEnvelopeCid(), size = 1120, ts = 1767225600000 } = {}): MailPayload {
  const required = requiredPowBits(bits, size)
  const pow = solvePowSync(powChallenge({ bits: required, ts, inbox, envelopeCid }), required)
  return { op: 'MAIL', v: 1, env: envelopeCid.toString(), size, ts, pow }
}

/**
 * A nonce that does NOT meet `bits` for this payload. A fixed nonce (all zeros) would meet it once
 * in 2^bits runs: a flaky test at low difficulties.
 */
export function failingPow (payload: MailPayload, inbox: string, bits: number): Uint8Array {
  const required = requiredPowBits(bits, payload.size)
  const challenge = powChallenge({ bits: required, ts: payload.ts, inbox, envelopeCid: CID.parse(payload.env) })
  const nonce = new Uint8Array(8)
  for (let i = 0; verifyPow(challenge, required, nonce); i++) new DataView(nonce.buffer).setUint32(4, i + 1)
  return nonce
}

/** The signed part of an OrbitDB entry, as a test wants it (defaults: what an honest writer writes). */
export interface EntryFields {
  id: string
  payload: unknown
  /** Parents with their clock times: `next` and the clock default from them. */
  parents?: Array<{ hash: string, time: number }>
  next?: unknown
  refs?: unknown
  clock?: unknown
  v?: unknown
}

/** An entry block signed by hand: what any holder of an OrbitDB key can make and send. */
export interface SignedEntry { hash: string, cid: CID, bytes: Uint8Array, entry: Record<string, unknown> }

/**
 * Sign an entry as OrbitDB would, field by field, so that a test can make any of them wrong and
 * still carry a valid signature. Defaults follow the rules (PROTOCOL §9.3): `next` = the parents,
 * `clock` = { id: key, time: parents' highest + 1 }, `v` 2, `refs` [], `identity` = `key`.
 * `unsigned` replaces or adds fields outside the signature (`identity`, `key`, `sig`, extra ones).
 */
export async function signEntry (identity: OrbitDBIdentity, fields: EntryFields, unsigned: Record<string, unknown> = {}): Promise<SignedEntry> {
  const parents = fields.parents ?? []
  const time = parents.reduce((max, p) => Math.max(max, p.time), 0) + 1
  const signed = {
    id: fields.id,
    payload: fields.payload,
    next: fields.next ?? parents.map(p => p.hash),
    refs: fields.refs ?? [],
    clock: fields.clock ?? { id: identity.publicKey, time },
    v: fields.v ?? 2
  }
  const sig = await identity.sign(identity, dagCbor.encode(signed))
  const entry = { ...signed, key: identity.publicKey, identity: identity.publicKey, sig, ...unsigned }
  const bytes = dagCbor.encode(entry)
  const cid = CID.create(1, dagCbor.code, sha256.digest(bytes) as Awaited<ReturnType<typeof sha256.digest>>)
  const hash = cid.toString(base58btc)
  return { hash, cid, bytes, entry: { ...entry, hash } }
}

/** A stamped deliver request: a mail from `from` sealed to `owner`'s inbox at `bits`, stamped now at the required bits. */
export async function stampedMail (from: Identity, owner: string, bits: number, body: string): Promise<{ inbox: string, mail: MailPayload, envelope: Uint8Array, id: string }> {
  const inbox = inboxAddress(owner, bits)
  const sealed = await sealMail({ subject: body.slice(0, 20), body }, { from, to: owner, inbox })
  const mail = mailPayload(inbox, bits, { envelopeCid: sealed.cid, size: sealed.envelope.byteLength, ts: Date.now() })
  return { inbox, envelope: sealed.envelope, id: sealed.mail.id, mail }
}
