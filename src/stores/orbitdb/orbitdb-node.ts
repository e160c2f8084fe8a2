/**
 * OrbitDB on a node's Helia (docs/ARCHITECTURE.md, node): its keystore in `<home>/orbitdb/keystore`
 * with Ed25519 entry keys signed through cached node:crypto keys (orbitdb-signer.ts), its
 * process-wide registries of access controllers and database types. create-node.ts assembles the
 * node with it; nothing outside this folder imports OrbitDB.
 */
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createOrbitDB, Identities, KeyStore, useAccessController, useDatabaseType, type OrbitDB } from '@orbitdb/core'
import { closeInboxes } from './open-inbox.ts'
import { withCachedSigning } from './orbitdb-signer.ts'

export type { OrbitDB }
export { useAccessController, useDatabaseType }

/** The home's sub-directory of OrbitDB (its keystore; inboxes of the former layout). */
export const HOME_ORBITDB_DIR = 'orbitdb'

export interface StartedOrbitDB {
  orbitdb: OrbitDB
  /** Close the inboxes open on the node, stop OrbitDB, then close its keystore. */
  stop: () => Promise<void>
}

/**
 * Start OrbitDB on `ipfs` in `<home>/orbitdb`, with the identity kept there under `id` (so that it
 * survives restarts).
 *
 * OrbitDB's default key is secp256k1 in pure JS (0.7 ms to sign, 1.3 ms to verify an entry here);
 * an Ed25519 key, which OrbitDB reads just as well (libp2p's privateKeyFromRaw), signs and
 * verifies on node:crypto in a few tens of µs. This key is not the user's: a fresh one per home,
 * as OrbitDB's own would be.
 */
export async function startOrbitDB (params: { ipfs: unknown, home: string, id: string }): Promise<StartedOrbitDB> {
  const keystore = await KeyStore({ path: join(params.home, HOME_ORBITDB_DIR, 'keystore') })
  try {
    // Two keys, as OrbitDB's public-key provider uses them: one under `id` signs the identity, one
    // under that key's hex public key (the identity's id) signs the entries.
    const ensureEd25519 = async (id: string): Promise<string> => {
      if (!await keystore.hasKey(id)) await keystore.addKey(id, { privateKey: (await generateKeyPair('Ed25519')).raw })
      return Buffer.from((await keystore.getKey(id)).publicKey.raw).toString('hex')
    }
    await ensureEd25519(await ensureEd25519(params.id))
    const identities = await Identities({ keystore: withCachedSigning(keystore), ipfs: params.ipfs })
    const orbitdb = await createOrbitDB({ ipfs: params.ipfs, directory: join(params.home, HOME_ORBITDB_DIR), id: params.id, identities })
    return {
      orbitdb,
      stop: async () => {
        try {
          await closeInboxes(params.ipfs as object)
          await orbitdb.stop()
        } finally {
          await keystore.close()
        }
      }
    }
  } catch (err) {
    await keystore.close()
    throw err
  }
}
