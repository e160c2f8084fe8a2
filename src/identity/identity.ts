/**
 * The `Identity` of an IPMS user or node: an Ed25519 key pair and its peer-id (the address).
 *
 * An identity is plain, frozen data. It carries the libp2p private key object (a libp2p node is
 * started with it) and the 32-byte seed (from which the envelope code derives the X25519 secret).
 *
 * Watch out for: secrets must never reach a log by accident. `privateKey` and `seed` are
 * non-enumerable (spreads, `Object.keys`, `JSON.stringify` skip them), `toJSON()` and
 * `util.inspect` show the peer-id only. Reading `identity.seed` or `identity.privateKey` on purpose
 * still works, and what the caller then does with it is the caller's business.
 *
 * A libp2p Ed25519 private key stores `seed ‖ public key` and trusts the public half as given;
 * `identityFromPrivateKey` re-derives it from the seed, so a damaged key cannot sign for one
 * address while claiming another.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto'
import { generateKeyPair, generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import { ED25519_KEY_BYTES } from '../constants.ts'
import { concatBytes, equalBytes } from '../crypto/codec.ts'
import { InvalidArgumentError, UnsupportedKeyTypeError } from '../errors.ts'
import { peerIdFromPublicKey } from './peer-id.ts'

export type { Ed25519PrivateKey }

/** An Ed25519 identity. Only `peerId` shows in JSON and `util.inspect`. */
export interface Identity {
  /** The address: canonical base58btc peer-id (`12D3KooW…`). */
  readonly peerId: string
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array
  /** The libp2p private key (secret, non-enumerable): give it to libp2p as its `privateKey`. */
  readonly privateKey: Ed25519PrivateKey
  /** The 32-byte Ed25519 seed (RFC 8032 secret key; secret, non-enumerable). */
  readonly seed: Uint8Array
  /** `{ peerId }`: what `JSON.stringify` shows of an identity. */
  toJSON(): { peerId: string }
}

const INSPECT = Symbol.for('nodejs.util.inspect.custom')
/** DER prefix of a PKCS#8 Ed25519 private key, followed by the 32-byte seed (RFC 8410 §7). */
const PKCS8_ED25519_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20
])

/** A new random Ed25519 identity. */
export async function createIdentity (): Promise<Identity> {
  return identityFromPrivateKey(await generateKeyPair('Ed25519'))
}

/** The identity of a 32-byte Ed25519 seed (deterministic; for tests, vectors and key recovery). */
export async function identityFromSeed (seed: Uint8Array): Promise<Identity> {
  if (!(seed instanceof Uint8Array) || seed.byteLength !== ED25519_KEY_BYTES) {
    throw new InvalidArgumentError(`An Ed25519 seed is ${ED25519_KEY_BYTES} bytes`)
  }
  return identityFromPrivateKey(await generateKeyPairFromSeed('Ed25519', seed))
}

/**
 * The identity of a libp2p private key. `UnsupportedKeyTypeError` for a key that is not Ed25519;
 * `InvalidArgumentError` if its public half does not belong to its seed.
 */
export function identityFromPrivateKey (privateKey: Ed25519PrivateKey): Identity {
  const type = (privateKey as { type?: unknown } | null)?.type
  if (type !== 'Ed25519') {
    throw new UnsupportedKeyTypeError(`IPMS identities are Ed25519 keys; this is ${typeof type === 'string' ? `an ${type}` : 'not a'} key`)
  }
  const raw = privateKey.raw
  if (!(raw instanceof Uint8Array) || raw.byteLength !== 2 * ED25519_KEY_BYTES) {
    throw new InvalidArgumentError(`A libp2p Ed25519 private key holds ${2 * ED25519_KEY_BYTES} bytes (seed ‖ public key)`)
  }
  const seed = raw.slice(0, ED25519_KEY_BYTES)
  const publicKey = privateKey.publicKey.raw.slice()
  if (!equalBytes(publicKey, raw.subarray(ED25519_KEY_BYTES)) || !equalBytes(publicKey, derivePublicKey(seed))) {
    throw new InvalidArgumentError('The Ed25519 private key is inconsistent: its public key does not belong to its seed')
  }
  const peerId = peerIdFromPublicKey(publicKey)
  const identity = {}
  Object.defineProperties(identity, {
    peerId: { value: peerId, enumerable: true },
    publicKey: { value: publicKey, enumerable: true },
    privateKey: { value: privateKey, enumerable: false },
    seed: { value: seed, enumerable: false },
    toJSON: { value: () => ({ peerId }), enumerable: false },
    [INSPECT]: { value: () => `Identity(${peerId})`, enumerable: false }
  })
  return Object.freeze(identity) as Identity
}

/** RFC 8032 public key of a seed, computed natively by node:crypto. */
function derivePublicKey (seed: Uint8Array): Uint8Array {
  const der = concatBytes(PKCS8_ED25519_PREFIX, seed)
  try {
    const jwk = createPublicKey(createPrivateKey({ key: Buffer.from(der.buffer, der.byteOffset, der.byteLength), format: 'der', type: 'pkcs8' }))
      .export({ format: 'jwk' })
    return new Uint8Array(Buffer.from(String(jwk.x), 'base64url'))
  } finally {
    der.fill(0)
  }
}
