/**
 * One LevelDB per home for the records of every inbox (docs/ARCHITECTURE.md, stores): OrbitDB's
 * heads and entry index of each inbox log, and its mailbox index, under a key prefix per inbox,
 * so that opening an inbox opens no file and costs no file descriptor.
 *
 *   <home>/inboxes/   !<id>!!heads!heads      OrbitDB's `log/_heads`: JSON [{ hash, next }] (bytes)
 *                     !<id>!!index!<entry>    OrbitDB's `log/_index`: entry hash → true (bytes)
 *                     !<id>!!mailbox!<key>    the mailbox index (mailbox-index.ts; UTF-8 values)
 *                     !<id>!!meta!migrated    when the inbox's records came from a home of the
 *                                             former layout (migrate-inboxes.ts)
 *   <id>: the inbox address without its `/orbitdb/` (zdpu…, base58btc).
 *
 * The values are the bytes OrbitDB's LevelStorage writes (valueEncoding 'view'), so a stock
 * OrbitDB given these storages reads them. The prefixes are those of abstract-level's nested
 * sublevels (`db.sublevel(id).sublevel('heads')`), spelled out here because a sublevel is closed
 * with its parent and not reopened with it, and the node reopens this LevelDB after a full disk
 * (storage-health.ts): a key space is only a prefix over the one LevelDB, whatever its state.
 *
 * Watch for: an inbox's close leaves this LevelDB open (the node's stop closes it); `drop` deletes
 * every key of one inbox and nothing else (`ipms host rm`, stores/orbitdb/drop-inbox.ts).
 */
import { Level } from 'level'
import { InvalidArgumentError } from '../../errors.ts'
import type { StorageHealth, WriteOptions } from '../storage-health.ts'
import { groupCommit } from '../../util/group-commit.ts'

/** The home's sub-directory of the inbox store. */
export const HOME_INBOXES_DIR = 'inboxes'

/** A range of keys inside a key space (its own keys, without the prefix). */
export interface KeyRange {
  gt?: string
  gte?: string
  lt?: string
  lte?: string
  reverse?: boolean
  /** Most entries; -1 (default) for all. */
  limit?: number
}

export type KeyOp<V> = { type: 'put', key: string, value: V } | { type: 'del', key: string }

/** Keys under one prefix of a LevelDB, with one value encoding: what a store of one inbox sees. */
export interface KeySpace<V> {
  get: (key: string) => Promise<V | undefined>
  getMany: (keys: string[]) => Promise<Array<V | undefined>>
  /** One atomic LevelDB batch; `options.sync` resolves once LevelDB's log is on disk. */
  batch: (ops: Array<KeyOp<V>>, options?: Partial<WriteOptions>) => Promise<void>
  entries: (range?: KeyRange) => AsyncIterable<[string, V]>
  keys: (range?: KeyRange) => AsyncIterable<string>
  values: (range?: KeyRange) => AsyncIterable<V>
  /** Delete every key of the space. */
  clear: () => Promise<void>
}

/** The shared LevelDB as far as key spaces use it. */
export type InboxLevel = Level<string, any>

type Encoding = 'view' | 'utf8'

/** The first key after every key that starts with `prefix` (which ends with '!'): as abstract-level bounds a sublevel. */
const upperBound = (prefix: string): string => prefix.slice(0, -1) + '"'

/** `range` of a space's keys as a range of the LevelDB's keys. */
function prefixed (prefix: string, range: KeyRange): Record<string, unknown> {
  const bounds: Record<string, unknown> = { reverse: range.reverse ?? false, limit: range.limit ?? -1 }
  if (range.gt !== undefined) bounds.gt = prefix + range.gt
  else bounds.gte = prefix + (range.gte ?? '')
  if (range.lt !== undefined) bounds.lt = prefix + range.lt
  else if (range.lte !== undefined) bounds.lte = prefix + range.lte
  else bounds.lt = upperBound(prefix)
  return bounds
}

/** One LevelDB batch operation, its key prefixed, its value's encoding its space's. */
type LevelOp = { type: 'put', key: string, value: unknown, valueEncoding: Encoding } | { type: 'del', key: string }

/** Writes into the LevelDB of an inbox store: batches of its key spaces, committed together. */
export type LevelBatcher = (ops: LevelOp[], options?: Partial<WriteOptions>) => Promise<void>

/**
 * A node-wide group commit of the key spaces' batches (util/group-commit.ts): the batches of every
 * inbox that arrive while one is being written go together into the next LevelDB batch (synced
 * when one of them asks for it), as the block writer does for blocks. A host delivering into many
 * inboxes at once makes a few synced batches instead of a few per inbox. Each batch stays atomic.
 */
export function levelBatcher (db: InboxLevel): LevelBatcher {
  const group = groupCommit<{ ops: LevelOp[], sync: boolean }, void>(async (writes) => {
    await db.batch(writes.flatMap(w => w.ops), { sync: writes.some(w => w.sync) })
    return writes.map(() => undefined)
  })
  return async (ops, options) => { if (ops.length > 0) await group.submit({ ops, sync: options?.sync === true }) }
}

/** The keys of `db` that start with `prefix` (ending with '!'), their values in `valueEncoding`; written through `batcher`. */
export function keySpace<V> (db: InboxLevel, prefix: string, valueEncoding: Encoding, batcher: LevelBatcher = levelBatcher(db)): KeySpace<V> {
  const options = { valueEncoding }
  const cut = prefix.length
  return {
    get: async (key) => (await db.get(prefix + key, options)) ?? undefined,
    getMany: async (keys) => (await db.getMany(keys.map(k => prefix + k), options)).map(v => v ?? undefined),
    batch: async (ops, writeOptions) => {
      await batcher(ops.map(op => op.type === 'put' ? { type: 'put', key: prefix + op.key, value: op.value, valueEncoding } : { type: 'del', key: prefix + op.key }), writeOptions)
    },
    entries: async function * (range = {}) {
      for await (const [key, value] of db.iterator({ ...prefixed(prefix, range), ...options })) yield [key.slice(cut), value]
    },
    keys: async function * (range = {}) {
      for await (const key of db.keys(prefixed(prefix, range))) yield key.slice(cut)
    },
    values: async function * (range = {}) {
      for await (const value of db.values({ ...prefixed(prefix, range), ...options })) yield value
    },
    clear: async () => { await db.clear(prefixed(prefix, {})) }
  }
}

/** The id of an inbox in the store: its address without `/orbitdb/`, checked (it becomes a key prefix). */
export function inboxId (address: string): string {
  const id = address.startsWith('/orbitdb/') ? address.slice('/orbitdb/'.length) : address
  if (!/^[1-9A-HJ-NP-Za-km-z]{1,100}$/.test(id)) throw new InvalidArgumentError(`${JSON.stringify(address)} is not an inbox address (/orbitdb/zdpu…)`)
  return id
}

/** The prefix of every key of one inbox. */
export const inboxPrefix = (address: string): string => `!${inboxId(address)}!`

/** The key spaces of one inbox. */
export interface InboxSpaces {
  heads: KeySpace<Uint8Array>
  /** OrbitDB puts `true`: encoding 'view' writes the bytes of the text 'true', as OrbitDB's LevelStorage does. */
  index: KeySpace<unknown>
  mailbox: KeySpace<string>
  meta: KeySpace<string>
  /**
   * Keys of several of these spaces in one LevelDB getMany, as bytes: what an opening reads (each
   * read a host's thread makes costs it a snapshot and a thread-pool hand-off).
   */
  readMany: (keys: ReadonlyArray<readonly [SpaceName, string]>) => Promise<Array<Uint8Array | undefined>>
}

export type SpaceName = 'heads' | 'index' | 'mailbox' | 'meta'

/** Every inbox of a home in one LevelDB. */
export interface InboxStore {
  readonly db: InboxLevel
  /** The key spaces of the inbox at `address`. */
  spaces: (address: string) => InboxSpaces
  /** Delete every key of the inbox at `address` (one range delete; none of any other inbox). */
  drop: (address: string) => Promise<void>
  /** The address of every inbox with records here (one seek per inbox). */
  addresses: () => AsyncIterable<string>
}

/** The inbox store over an open LevelDB (the node's, opened by createNode). */
export function inboxStore (db: InboxLevel): InboxStore {
  const batcher = levelBatcher(db)
  return {
    db,
    spaces: (address) => {
      const prefix = inboxPrefix(address)
      const prefixOf = (space: SpaceName): string => `${prefix}!${space}!`
      return {
        heads: keySpace(db, prefixOf('heads'), 'view', batcher),
        index: keySpace(db, prefixOf('index'), 'view', batcher),
        mailbox: keySpace(db, prefixOf('mailbox'), 'utf8', batcher),
        meta: keySpace(db, prefixOf('meta'), 'utf8', batcher),
        readMany: async (keys) => (await db.getMany(keys.map(([space, key]) => prefixOf(space) + key), { valueEncoding: 'view' })).map(v => v ?? undefined)
      }
    },
    drop: async (address) => { await keySpace(db, inboxPrefix(address), 'view').clear() },
    addresses: async function * () {
      // Every key is !<id>!…: take the first key at or after `from`, then jump past its inbox.
      for (let from = '!'; ;) {
        let key: string | undefined
        for await (const k of db.keys({ gte: from, lt: '"', limit: 1 })) key = k
        const end = key?.indexOf('!', 1) ?? -1
        if (key === undefined || end < 0) return
        const id = key.slice(1, end)
        yield `/orbitdb/${id}`
        from = upperBound(`!${id}!`)
      }
    }
  }
}

/** A new (closed) LevelDB for an inbox store at `path`: the node opens it (create-node.ts openLevel). */
export const inboxLevel = (path: string): InboxLevel => new Level<string, any>(path, { keyEncoding: 'utf8', valueEncoding: 'view' })

/**
 * An inbox store with a LevelDB of its own at `path`, opened here and tracked by `health` (a
 * Helia that createNode did not make, and tests); `close` closes it.
 */
export async function openInboxStore (path: string, health?: StorageHealth): Promise<InboxStore & { close: () => Promise<void> }> {
  const db = inboxLevel(path)
  await db.open()
  const untrack = health?.track(db)
  return { ...inboxStore(db), close: async () => { untrack?.(); await db.close() } }
}
