/** Helpers for inbox tests: valid MAIL payloads for an inbox, and fake entry hashes. */
import crypto from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import type { MailPayload } from '../../src/access/payloads.ts'
import { powChallenge, solvePowSync } from '../../src/crypto/pow/index.ts'

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
