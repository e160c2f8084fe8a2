/**
 * OrbitDB's LevelStorage (`@orbitdb/core` storage/level.js) with two additions: `putMany` (many
 * keys in one LevelDB batch) and write options on `putMany` (`sync`, for the write a
 * receipt depends on: stores/storage-health.ts). Same path, same encoding ('view'), same bytes on
 * disk, so an inbox's `log/_index` and `log/_heads` opened by either read the same.
 *
 * Why: a grouped append marks many entries as in the log at once (stores/log-writer.ts); one
 * LevelDB write per entry costs a thread-pool round trip each.
 */
import { Level } from 'level'
import type { Storage } from '@orbitdb/core'
import type { StorageHealth, WriteOptions } from './storage-health.ts'

export interface BatchStorage<V = unknown> extends Storage<V> {
  /** Put every pair in one atomic batch; `options.sync` resolves once LevelDB's log is on disk. */
  putMany: (pairs: Array<[string, V]>, options?: Partial<WriteOptions>) => Promise<void>
}

export async function LevelBatchStorage<V = unknown> ({ path, health }: { path: string, health?: StorageHealth }): Promise<BatchStorage<V>> {
  const db = new Level<string, any>(path, { valueEncoding: 'view' })
  await db.open()
  // Reopened by the node after a full disk (LevelDB's write errors are sticky until then).
  const untrack = health?.track(db)
  return {
    put: async (key, value) => { await db.put(key, value) },
    putMany: async (pairs, options) => { await db.batch(pairs.map(([key, value]) => ({ type: 'put' as const, key, value })), options ?? {}) },
    get: async (key) => (await db.get(key)) ?? undefined,
    del: async (key) => { await db.del(key) },
    iterator: async function * ({ amount, reverse } = {}) {
      for await (const pair of db.iterator({ limit: amount ?? -1, reverse: reverse ?? false })) yield pair
    },
    merge: async () => {},
    clear: async () => { await db.clear() },
    close: async () => { untrack?.(); await db.close() }
  }
}
