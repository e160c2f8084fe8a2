/**
 * OrbitDB's LevelStorage (`@orbitdb/core` storage/level.js) over a key space of the home's inbox
 * store (inbox-store.ts) instead of a LevelDB of its own, with two additions: `putMany` (many keys
 * in one LevelDB batch) and write options on `putMany` (`sync`, for the write a receipt depends on:
 * stores/storage-health.ts). Same values (encoding 'view': the bytes OrbitDB's storage writes), so
 * a stock OrbitDB given this storage reads an inbox's heads and entry index as its own.
 *
 * Why: a grouped append marks many entries as in the log at once (stores/orbitdb/log-writer.ts); one
 * LevelDB write per entry costs a thread-pool round trip each. And one LevelDB per home: an inbox
 * costs no file descriptor.
 *
 * Watch for: `close` closes nothing (the LevelDB is the node's, shared by every inbox); `clear`
 * deletes this space's keys only.
 */
import type { Storage } from '@orbitdb/core'
import type { KeySpace } from './inbox-store.ts'
import type { WriteOptions } from '../storage-health.ts'

export interface BatchStorage<V = unknown> extends Storage<V> {
  /** Put every pair in one atomic batch; `options.sync` resolves once LevelDB's log is on disk. */
  putMany: (pairs: Array<[string, V]>, options?: Partial<WriteOptions>) => Promise<void>
}

export function LevelBatchStorage<V = unknown> (space: KeySpace<V>): BatchStorage<V> {
  return {
    put: async (key, value) => { await space.batch([{ type: 'put', key, value }]) },
    putMany: async (pairs, options) => { await space.batch(pairs.map(([key, value]) => ({ type: 'put' as const, key, value })), options) },
    get: async (key) => await space.get(key),
    del: async (key) => { await space.batch([{ type: 'del', key }]) },
    iterator: async function * ({ amount, reverse } = {}) {
      yield * space.entries({ limit: amount ?? -1, reverse: reverse ?? false })
    },
    merge: async () => {},
    clear: async () => { await space.clear() },
    close: async () => {}
  }
}

/**
 * `storage` remembering the keys it read as absent until it writes them: for a storage whose only
 * writer is its holder (an inbox's heads: one instance per address per node), so that a fresh inbox
 * reads its missing heads once, not at its opening and again at its first append. `known.absent`:
 * keys the holder has just read as absent itself.
 */
export function rememberingAbsent<V> (storage: BatchStorage<V>, known: { absent?: string[] } = {}): BatchStorage<V> {
  const absent = new Set<string>(known.absent)
  return {
    ...storage,
    get: async (key) => {
      if (absent.has(key)) return undefined
      const value = await storage.get(key)
      if (value === undefined) absent.add(key)
      return value
    },
    put: async (key, value) => { absent.delete(key); await storage.put(key, value) },
    putMany: async (pairs, options) => { for (const [key] of pairs) absent.delete(key); await storage.putMany(pairs, options) },
    del: async (key) => { await storage.del(key); absent.add(key) },
    clear: async () => { absent.clear(); await storage.clear() }
  }
}
