/**
 * Delete envelope blocks and their Helia pin records, for many at once, so that every step can be
 * cut by a crash and run again (docs/PROTOCOL.md §9.4, garbage collection).
 *
 * With the LevelDB stores createNode registers (block-writer.ts): one batch into Helia's datastore
 * deletes both pin records of every block (`/pin/…`, `/pinned-block/…`), then one batch into the
 * blockstore deletes the blocks. Deleting a missing key is a no-op in LevelDB, so a half-done
 * removal (ours, or Helia's own `pins.rm`, which deletes `/pin/` before it updates
 * `/pinned-block/`) is simply finished by the next run. Pins go first: a crash between leaves
 * unpinned blocks (deleted next time), never a pin without its block.
 *
 * Any other Helia gets the reference path through its API, one block at a time, where a missing
 * record counts as done; Helia's API cannot clear a `/pinned-block/` record whose `/pin/` is gone.
 *
 * Watch for: exact only because each IPMS block is pinned by itself alone (block-writer.ts).
 */
import type { CID } from 'multiformats/cid'
import { blockKey, levelStoresOf, pinKey, pinnedBlockKey, type LevelStores } from './block-writer.ts'

/** Helia, as far as the reference path needs it. */
export interface HeliaRemovable {
  blockstore: { unwrap: () => { delete: (cid: CID) => Promise<void> } }
  pins: { rm: (cid: CID) => AsyncIterable<unknown> }
}

/** Blocks per LevelDB batch. */
const REMOVE_BATCH = 1000

const isNotFound = (err: unknown): boolean =>
  (err as { name?: string })?.name === 'NotFoundError' || (err as { code?: string })?.code === 'ERR_NOT_FOUND'

/** Unpin and delete `cids`; blocks or records already gone are done, not errors. */
export async function removeBlocks (helia: HeliaRemovable, cids: CID[]): Promise<void> {
  const stores = levelStoresOf(helia)
  if (stores === undefined) {
    for (const cid of cids) {
      try {
        for await (const _ of helia.pins.rm(cid)) { /* consume */ }
      } catch (err) {
        if (!isNotFound(err)) throw err
      }
      await helia.blockstore.unwrap().delete(cid)
    }
    return
  }
  await removeLevelBlocks(stores, cids)
}

/** Unpin and delete `cids` in the LevelDBs of a home (pins first, in batches); no Helia needed (`ipms host rm`). */
export async function removeLevelBlocks (stores: LevelStores, cids: CID[]): Promise<void> {
  for (let i = 0; i < cids.length; i += REMOVE_BATCH) {
    const chunk = cids.slice(i, i + REMOVE_BATCH)
    await stores.datastore.batch(chunk.flatMap(cid => [{ type: 'del' as const, key: pinKey(cid) }, { type: 'del' as const, key: pinnedBlockKey(cid) }]))
    await stores.blocks.batch(chunk.map(cid => ({ type: 'del' as const, key: blockKey(cid) })))
  }
}
