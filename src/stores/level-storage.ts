/**
 * OrbitDB's LevelStorage (`@orbitdb/core` storage/level.js) with one addition, `putMany`: many
 * keys in one LevelDB batch. Same path, same encoding ('view'), same bytes on disk, so an inbox's
 * `log/_index` and `log/_heads` opened by either read the same.
 *
 * Why: a grouped append marks many entries as in the log at once (stores/log-writer.ts); one
 * LevelDB write per entry costs a thread-pool round trip each.
 */
import { Level } from 'level'
import type { Storage } from '@orbitdb/core'

export interface BatchStorage<V = unknown> extends Storage<V> {
  /** Put every pair in one atomic batch. */
  putMany: (pairs: Array<[string, V]>) => Promise<void>
}

export async function LevelBatchStorage<V = unknown> ({ path }: { path: string }): Promise<BatchStorage<V>> {
  const db = new Level<string, any>(path, { valueEncoding: 'view' })
  await db.open()
  return {
    put: async (key, value) => { await db.put(key, value) },
    putMany: async (pairs) => { await db.batch(pairs.map(([key, value]) => ({ type: 'put' as const, key, value }))) },
    get: async (key) => (await db.get(key)) ?? undefined,
    del: async (key) => { await db.del(key) },
    iterator: async function * ({ amount, reverse } = {}) {
      for await (const pair of db.iterator({ limit: amount ?? -1, reverse: reverse ?? false })) yield pair
    },
    merge: async () => {},
    clear: async () => { await db.clear() },
    close: async () => { await db.close() }
  }
}
