/** Helpers for inbox tests: valid MAIL payloads for an inbox, and fake entry hashes. */
import crypto from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import type { MailPayload } from '../../src/access/payloads.ts'
import { powChallenge, solvePowSync, verifyPow } from '../../src/crypto/pow/index.ts'
import { inboxAddress } from '../../src/access/inbox-address.ts'
import type { Identity } from '../../src/identity/identity.ts'
import { sealMail } from '../../src/mail/seal.ts'

/** A random envelope CID (as if of a real envelope block). */
export function randomEnvelopeCid (): CID {
  return CID.create(1, dagCbor.code, sha256.digest(crypto.randomBytes(64)) as Awaited<ReturnType<typeof sha256.digest>>)
}

/** A random entry hash in OrbitDB's form (base58btc CIDv1 dag-cbor). */
export function randomEntryHash (): string {
  return randomEnvelopeCid().toString(base58btc)
}

/** A MAIL payload with a solved stamp for `inbox` at `bits` (solved in-thread: keep bits low). */
export function mailPayload (inbox: string, bits: number, { envelopeCid = randomEnvelopeCid(), size = 1120, ts = 1767225600000 } = {}): MailPayload {
  const pow = solvePowSync(powChallenge({ bits, ts, inbox, envelopeCid }), bits)
  return { op: 'MAIL', v: 1, env: envelopeCid.toString(), size, ts, pow }
}

/**
 * A nonce that does NOT meet `bits` for this payload. A fixed nonce (all zeros) would meet it once
 * in 2^bits runs: a flaky test at low difficulties.
 */
export function failingPow (payload: MailPayload, inbox: string, bits: number): Uint8Array {
  const challenge = powChallenge({ bits, ts: payload.ts, inbox, envelopeCid: CID.parse(payload.env) })
  const nonce = new Uint8Array(8)
  for (let i = 0; verifyPow(challenge, bits, nonce); i++) new DataView(nonce.buffer).setUint32(4, i + 1)
  return nonce
}

/** A deliver request: a mail from `from` sealed to `owner`'s inbox at `bits`, stamped now. */
export async function stampedRequest (owner: string, from: Identity, bits: number, body: string): Promise<{ inbox: string, mail: MailPayload, envelope: Uint8Array }> {
  const inbox = inboxAddress(owner, bits)
  const sealed = await sealMail({ body }, { from, to: owner, inbox })
  const ts = Date.now()
  const pow = solvePowSync(powChallenge({ bits, ts, inbox, envelopeCid: sealed.cid }), bits)
  return { inbox, envelope: sealed.envelope, mail: { op: 'MAIL', v: 1, env: sealed.cid.toString(), size: sealed.envelope.byteLength, ts, pow } }
}
