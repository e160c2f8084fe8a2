/**
 * Ed25519 and X25519 on node:crypto, with cached key objects.
 *
 * node:crypto (OpenSSL) signs, verifies and runs X25519 10–30 × faster than pure JS here, but only
 * on `KeyObject`s, whose creation costs about as much as the operation itself: so key objects are
 * cached, secrets in WeakMaps keyed by the caller's seed array (never in a global map by value),
 * public keys in a small bounded map by their bytes.
 *
 * The Ed25519 → X25519 mapping (RFC 7748 birational map; the secret is the clamped first half of
 * SHA-512(seed), as in RFC 8032) comes from @noble/curves, which also validates the point.
 *
 * Watch for: X25519 with a small-order public key gives an all-zero secret; `x25519` refuses it.
 */
import crypto, { type KeyObject } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'

// DER prefixes that wrap a raw 32-byte key (RFC 8410).
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex')
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex')
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex')
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex')

const PUBLIC_CACHE_SIZE = 1024

/** A Map that forgets its oldest entry past `limit` (insertion order): enough for key caches. */
function boundedCache<V> (limit: number): { get: (key: string) => V | undefined, set: (key: string, value: V) => V } {
  const map = new Map<string, V>()
  return {
    get: (key) => map.get(key),
    set: (key, value) => {
      if (map.size >= limit) map.delete(map.keys().next().value as string)
      map.set(key, value)
      return value
    }
  }
}

const ed25519Publics = boundedCache<KeyObject>(PUBLIC_CACHE_SIZE)
const x25519Publics = boundedCache<KeyObject>(PUBLIC_CACHE_SIZE)
const montgomeryPublics = boundedCache<Uint8Array>(PUBLIC_CACHE_SIZE)
const ed25519Secrets = new WeakMap<Uint8Array, KeyObject>()
const x25519Secrets = new WeakMap<Uint8Array, KeyObject>()

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')

function ed25519SecretKey (seed: Uint8Array): KeyObject {
  let key = ed25519Secrets.get(seed)
  if (key === undefined) {
    key = crypto.createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, seed]), format: 'der', type: 'pkcs8' })
    ed25519Secrets.set(seed, key)
  }
  return key
}

function ed25519PublicKey (publicKey: Uint8Array): KeyObject {
  const id = hex(publicKey)
  return ed25519Publics.get(id) ?? ed25519Publics.set(id,
    crypto.createPublicKey({ key: Buffer.concat([ED25519_SPKI, publicKey]), format: 'der', type: 'spki' }))
}

/** Ed25519 signature (RFC 8032, pure) of `message` with the 32-byte `seed`. */
export function signEd25519 (seed: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(crypto.sign(null, message, ed25519SecretKey(seed)))
}

/**
 * `verifyEd25519` in libuv's thread pool (node:crypto's callback form), for many signatures at
 * once: they run on every core, not one after the other on the event loop. Never rejects.
 */
export async function verifyEd25519Async (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  if (publicKey.byteLength !== 32 || signature.byteLength !== 64) return false
  try {
    const key = ed25519PublicKey(publicKey)
    return await new Promise(resolve => { crypto.verify(null, message, key, signature, (err, ok) => { resolve(err === null && ok) }) })
  } catch {
    return false
  }
}

/** Verify an Ed25519 signature; false (never a throw) for a bad key, signature or length. */
export function verifyEd25519 (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.byteLength !== 32 || signature.byteLength !== 64) return false
  try {
    return crypto.verify(null, message, ed25519PublicKey(publicKey), signature)
  } catch {
    return false
  }
}

/**
 * The X25519 public key of an Ed25519 public key. Throws (a plain Error) when the bytes are not a
 * point on the curve; callers turn that into their own typed error.
 */
export function montgomeryPublic (edPublicKey: Uint8Array): Uint8Array {
  const id = hex(edPublicKey)
  return montgomeryPublics.get(id) ?? montgomeryPublics.set(id, ed25519.utils.toMontgomery(edPublicKey))
}

/** The X25519 secret of an Ed25519 seed: clamp(SHA-512(seed)[0..32]). Cached per seed array. */
export function x25519SecretFromSeed (seed: Uint8Array): KeyObject {
  let key = x25519Secrets.get(seed)
  if (key === undefined) {
    const secret = ed25519.utils.toMontgomerySecret(seed)
    key = x25519SecretKey(secret)
    secret.fill(0)
    x25519Secrets.set(seed, key)
  }
  return key
}

function x25519SecretKey (secret: Uint8Array): KeyObject {
  return crypto.createPrivateKey({ key: Buffer.concat([X25519_PKCS8, secret]), format: 'der', type: 'pkcs8' })
}

function x25519PublicKey (publicKey: Uint8Array): KeyObject {
  const id = hex(publicKey)
  return x25519Publics.get(id) ?? x25519Publics.set(id,
    crypto.createPublicKey({ key: Buffer.concat([X25519_SPKI, publicKey]), format: 'der', type: 'spki' }))
}

/** A fresh (or, for test vectors, given) ephemeral X25519 key pair. */
export interface EphemeralKey {
  secret: KeyObject
  publicKey: Uint8Array
}

export function ephemeralX25519 (secret?: Uint8Array): EphemeralKey {
  if (secret === undefined) {
    const pair = crypto.generateKeyPairSync('x25519')
    return { secret: pair.privateKey, publicKey: Buffer.from(pair.publicKey.export({ format: 'jwk' }).x as string, 'base64url') }
  }
  const key = x25519SecretKey(secret)
  const jwk = crypto.createPublicKey(key).export({ format: 'jwk' })
  return { secret: key, publicKey: Buffer.from(jwk.x as string, 'base64url') }
}

/**
 * X25519(secret, public). Returns undefined when the result is all zero (a small-order public key,
 * RFC 7748 §6.1) or OpenSSL refuses the key, so that no caller can derive a key from it.
 */
export function x25519 (privateKey: KeyObject, publicKey: Uint8Array): Uint8Array | undefined {
  let shared: Uint8Array
  try {
    shared = crypto.diffieHellman({ privateKey, publicKey: x25519PublicKey(publicKey) })
  } catch {
    return undefined
  }
  let acc = 0
  for (const byte of shared) acc |= byte
  return acc === 0 ? undefined : shared
}
