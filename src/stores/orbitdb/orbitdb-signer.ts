/**
 * OrbitDB's keystore as OrbitDB's identities use it to sign log entries, with Ed25519 signing on
 * node:crypto through a cached key (crypto/keys.ts) instead of @libp2p/crypto's, which imports the
 * key from JWK on every signature (~150 µs of a delivery's host time here, against ~40 µs).
 *
 * Same signatures byte for byte (Ed25519 is deterministic); verification is OrbitDB's own. Keys of
 * other types are returned as they are.
 */
import type { KeyStoreInstance } from '@orbitdb/core'
import { signEd25519 } from '../../crypto/keys.ts'

/** `keystore`, whose `getKey` returns Ed25519 keys that sign with a cached node:crypto key. */
export function withCachedSigning (keystore: KeyStoreInstance): KeyStoreInstance {
  const fast = new WeakMap<object, object>()
  const wrap = (key: any): any => {
    if (key?.type !== 'Ed25519' || !(key.raw instanceof Uint8Array) || key.raw.byteLength !== 64) return key
    let wrapped = fast.get(key)
    if (wrapped === undefined) {
      const seed = key.raw.subarray(0, 32)
      // A new object over the same key: every field of the original, `sign` replaced.
      wrapped = Object.create(key, { sign: { value: (data: Uint8Array) => signEd25519(seed, data) } }) as object
      fast.set(key, wrapped)
    }
    return wrapped
  }
  return { ...keystore, getKey: async (id: string) => wrap(await keystore.getKey(id)) }
}
