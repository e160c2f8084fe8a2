/**
 * Blocks and their pins, written for many blocks at once: one LevelDB batch into the blockstore
 * and, at the same time, one into Helia's datastore with the pin records, in the very bytes Helia 6 writes
 * (`@helia/utils` pins.js), so Helia reads, unpins and deletes them as its own.
 *
 *   /<BASE32UPPER(multihash)>                blockstore-level: the block's bytes
 *   /pin/<base36 CIDv1>                      dag-cbor { depth, metadata: {} }
 *   /pinned-block/<base36 multihash>         dag-cbor { pinCount: 1, pinnedBy: [CID bytes] }
 *
 * Why: through Helia's API one block costs about eight LevelDB round trips (blockstore has + put,
 * pins isPinned, has, a block read for the DAG walk, a record read, two record writes), each ~40 µs
 * of CPU here; a delivery stores two blocks (envelope, entry).
 *
 * Watch for:
 * - The records are written blind (no read first). That is exact only because in IPMS each of
 *   these blocks is pinned by itself alone: an envelope at depth 0 (putEnvelope), an entry with
 *   OrbitDB's default depth (its blocks link to nothing, `next` holds strings). Writing a record
 *   again writes the same bytes.
 * - Blocks and pins are written at the same time (two LevelDBs, each synced: two fdatasyncs in
 *   parallel, not one after the other). A crash before both returned can leave a pin record
 *   without its block; it is harmless in IPMS: nothing names that block yet (no heads, no index
 *   entry, no receipt), entry pins are never removed, and an envelope is unpinned only once a
 *   PRUNE names its mail; a delivery of it again writes the block and the same record.
 * - Bypasses Helia's GC read lock and bitswap's announce; IPMS never runs `helia.gc()` and moves
 *   inbox blocks over /ipms/sync, not bitswap.
 * - One writer per node, shared by its inboxes: writes that arrive while a batch is being written
 *   go together into the next one (util/group-commit.ts), whichever inbox they come from.
 * - Durable: both batches are written with the node's `health.durable` options (`sync: true`), so
 *   a group's blocks and pins are on disk, not only in the OS's cache, when `write` resolves: one
 *   fdatasync per LevelDB per group, shared by every delivery of the group (PROTOCOL.md §12.1).
 * - Only with the LevelDB stores registered by createNode (`useLevelStores`); any other Helia gets
 *   the reference path: Helia's own put and pins.add, one block at a time. A test keeps both
 *   writing the same records.
 */
import { base32upper } from 'multiformats/bases/base32'
import { base36 } from 'multiformats/bases/base36'
import type { CID } from 'multiformats/cid'
import * as dagCbor from '@ipld/dag-cbor'
import { groupCommit } from '../../util/group-commit.ts'
import type { InboxStore } from './inbox-store.ts'
import { createStorageHealth, type StorageHealth, type WriteOptions } from '../storage-health.ts'

/** How deep a pin reaches: 0 for an envelope, 'all' (Helia's default, Infinity) as OrbitDB pins entries. */
export type PinDepth = 0 | 'all'

export interface BlockToStore {
  cid: CID
  bytes: Uint8Array
  pin: PinDepth
}

export interface BlockWriter {
  /**
   * Store and pin `blocks`; resolves once LevelDB has them (on disk, unless durability is off, or
   * `durable` is false: a join's blocks, made durable by durable-joins.ts when a receipt needs it).
   */
  write: (blocks: BlockToStore[], options?: { durable?: boolean }) => Promise<void>
}

/** What of a Level instance the writer uses (string keys, Uint8Array values). */
export interface LevelBatcher {
  batch: (ops: Array<{ type: 'put', key: string, value: Uint8Array } | { type: 'del', key: string }>, options?: WriteOptions) => Promise<void>
}

/** The LevelDBs under a Helia, as `useLevelStores` declared them. */
export interface LevelStores { blocks: LevelBatcher, datastore: LevelBatcher }

/** Helia, as far as the reference path needs it. */
export interface HeliaBlocks {
  blockstore: { put: (cid: CID, bytes: Uint8Array, options?: { signal?: AbortSignal }) => unknown }
  pins: {
    add: (cid: CID, options?: { depth?: number }) => AsyncIterable<unknown>
    isPinned: (cid: CID) => boolean | Promise<boolean>
  }
}

/** What a node's inboxes write through: its block writer, the health of its LevelDBs, its inbox store. */
export interface NodeStorage {
  blocks: BlockWriter
  health: StorageHealth
  /** The home's store of every inbox's records (inbox-store.ts); none on a Helia createNode did not make. */
  inboxes?: InboxStore
}

const registered = new WeakMap<object, NodeStorage>()
const levelStores = new WeakMap<object, LevelStores>()

/**
 * Declare the LevelDBs under a Helia (createNode does): `blocks` of its blockstore-level,
 * `datastore` of its datastore-level, the node's `health` (durability, full disk) and the home's
 * inbox store (`inboxes`).
 */
export function useLevelStores (helia: object, stores: LevelStores & { health: StorageHealth, inboxes: InboxStore }): void {
  registered.set(helia, { blocks: batchedBlockWriter(stores, stores.health.durable), health: stores.health, inboxes: stores.inboxes })
  levelStores.set(helia, { blocks: stores.blocks, datastore: stores.datastore })
}

/** The LevelDBs declared for `helia`, if any (block-remover.ts deletes what this file writes). */
export const levelStoresOf = (helia: object): LevelStores | undefined => levelStores.get(helia)

// Helia 6's pin records (pins.js: cborg.encode({ depth, metadata })). Infinity is not dag-cbor, so
// that one is spelled out: a2 65 "depth" f9 7c00 (half-float Infinity) 68 "metadata" a0.
const PIN_RECORD: Record<PinDepth, Uint8Array> = {
  0: dagCbor.encode({ depth: 0, metadata: {} }),
  all: Uint8Array.from(Buffer.from('a2656465707468f97c00686d65746164617461a0', 'hex'))
}

export const blockKey = (cid: CID): string => `/${base32upper.encode(cid.multihash.bytes)}`
export const pinKey = (cid: CID): string => `/pin/${cid.toV1().toString(base36)}`
export const pinnedBlockKey = (cid: CID): string => `/pinned-block/${base36.encode(cid.multihash.bytes)}`

async function drain (iterable: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of iterable) { /* consume */ }
}

/**
 * The storage of `helia`: the batched writer when its LevelDBs are registered, else Helia's own
 * API (and a health of its own, durable).
 */
export function nodeStorage (helia: HeliaBlocks): NodeStorage {
  let storage = registered.get(helia)
  if (storage === undefined) {
    storage = { blocks: referenceBlockWriter(helia), health: createStorageHealth() }
    registered.set(helia, storage)
  }
  return storage
}

/** The block writer of `helia` (see nodeStorage). */
export const blockWriter = (helia: HeliaBlocks): BlockWriter => nodeStorage(helia).blocks

function batchedBlockWriter (stores: LevelStores, durable: WriteOptions): BlockWriter {
  const group = groupCommit<{ blocks: BlockToStore[], durable: boolean }, void>(async (writes) => {
    const blocks = writes.flatMap(w => w.blocks)
    // Synced when one write of the group asks for it (it makes the others durable too).
    const options = writes.some(w => w.durable) ? durable : { sync: false }
    await Promise.all([
      stores.blocks.batch(blocks.map(b => ({ type: 'put', key: blockKey(b.cid), value: b.bytes })), options),
      stores.datastore.batch(blocks.flatMap(b => [
        { type: 'put' as const, key: pinnedBlockKey(b.cid), value: dagCbor.encode({ pinCount: 1, pinnedBy: [b.cid.bytes] }) },
        { type: 'put' as const, key: pinKey(b.cid), value: PIN_RECORD[b.pin] }
      ]), options)
    ])
    return writes.map(() => undefined)
  })
  return {
    write: async (blocks, options = {}) => { if (blocks.length > 0) await group.submit({ blocks, durable: options.durable ?? true }) }
  }
}

/** One block at a time through Helia: put, then pin unless pinned (as OrbitDB's IPFSBlockStorage does). */
export function referenceBlockWriter (helia: HeliaBlocks): BlockWriter {
  return {
    write: async (blocks) => {
      for (const b of blocks) {
        await helia.blockstore.put(b.cid, b.bytes)
        if (!await helia.pins.isPinned(b.cid)) await drain(helia.pins.add(b.cid, b.pin === 'all' ? {} : { depth: 0 }))
      }
    }
  }
}
