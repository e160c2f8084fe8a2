/**
 * The signature check of an OrbitDB 4 log entry (`Entry.verify`, oplog/entry.js), as a join runs
 * it on every entry it receives (docs/PROTOCOL.md §9.3, §10): `sig` is the signature by `key` over
 * the dag-cbor encoding of `{ id, payload, next, refs, clock, v }`.
 *
 * Why not OrbitDB's own: it hashes that encoding into a block first and imports the key for each
 * signature (about 240 µs an entry here, 2.4 s of a 10,000-entry catch-up). Ed25519 keys (IPMS
 * nodes') are checked on node:crypto through a cached key object (crypto/keys.ts), the same
 * OpenSSL check as @libp2p/crypto's, in libuv's thread pool (a join checks many at once, on every
 * core); any other key (secp256k1, stock OrbitDB's default) goes to
 * OrbitDB's verifier. A test keeps both answering alike, for valid and tampered entries.
 *
 * Watch for: the caller has checked the entry's shape (entry-shape.ts: lowercase hex `key` and
 * `sig` of their lengths); this still never throws (false) on anything else.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { verifyEd25519Async } from '../../crypto/keys.ts'

/** The signed fields of an entry, and its key and signature (hex, as OrbitDB writes them). */
export interface SignedEntryFields {
  id: unknown
  payload: unknown
  next: unknown
  refs: unknown
  clock: unknown
  v: unknown
  key: unknown
  sig: unknown
}

/** OrbitDB's verifier of one signature (`identity.verify`, key-store.js `verifyMessage`). */
export type SignatureVerifier = (signature: string, publicKey: string, data: Uint8Array) => Promise<boolean>

const ED25519_KEY_HEX = 64
const ED25519_SIG_HEX = 128
const isLowerHex = (value: string): boolean => /^[0-9a-f]*$/.test(value)

/** True when `entry.sig` is `entry.key`'s signature of the entry; `fallback` checks non-Ed25519 keys. Never throws. */
export async function verifyEntrySignature (entry: SignedEntryFields, fallback: SignatureVerifier): Promise<boolean> {
  try {
    const { key, sig } = entry
    if (typeof key !== 'string' || typeof sig !== 'string' || !isLowerHex(key) || !isLowerHex(sig)) return false
    const signed = dagCbor.encode({ id: entry.id, payload: entry.payload, next: entry.next, refs: entry.refs, clock: entry.clock, v: entry.v })
    if (key.length === ED25519_KEY_HEX) {
      return sig.length === ED25519_SIG_HEX && await verifyEd25519Async(Buffer.from(key, 'hex'), signed, Buffer.from(sig, 'hex'))
    }
    return await fallback(sig, key, signed)
  } catch {
    return false
  }
}
