/**
 * Appends to an inbox's OrbitDB 4 log in groups (group commit, util/group-commit.ts): the entries
 * of a group are created and signed as OrbitDB's `Log.append` does (oplog/log.js), each checked
 * by the inbox's access controller (`canAppend`, refused ones dropped from the chain), then
 * written with a few LevelDB batches for the whole group:
 *
 *   1. blocks: the group's envelopes and entry blocks (one batch) and their pins (one batch);
 *      meanwhile OrbitDB's entry index `log/_index` (one batch);
 *   2. OrbitDB's heads `log/_heads` (one put: the last entry replaces what the first linked to);
 *   3. `onAppended`: the mailbox index (one batch) and events.
 *
 * An append resolves only after all three, so whoever answers a sender (a receipt) does so once
 * the envelope and the entry are on disk: the last write of the group into each LevelDB that holds
 * them (blocks, pins, `_index`, `_heads`) is a `sync` one (`durable`), which makes the earlier
 * writes of that LevelDB durable too, one fdatasync per LevelDB per group (PROTOCOL.md §12.1).
 * The mailbox index is not synced: it is rebuilt from the heads at open. As in OrbitDB, the heads
 * are written after the entries and the index: a crash at any point leaves a log that opens,
 * without the entries whose heads were not written.
 *
 * Pipelined: once step 1 has returned, the heads are in the cache in front of `log/_heads` and
 * the next group may start (it builds on them) while step 2 is being flushed; heads writes stay in
 * order (each waits for the one before), and steps 2–3 of a group end before its appends resolve.
 * So a group's two flushes in a row (step 1, then step 2) overlap with the next group's step 1.
 *
 * Watch for: OrbitDB's own `log.append` and `log.joinEntry` must not run concurrently with a
 * commit (each reads the heads, then writes them): the mailbox runs commits and joins one at a
 * time, and a join first waits for `settled()` (the heads writes under way). Entries carry no
 * back-references (`refs: []`, PROTOCOL.md §10), link at most MAX_ENTRY_LINKS heads, tick the
 * clock past the highest linked head, and have `identity = key` (rules version 2, PROTOCOL.md §9.3).
 */
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { Entry, type LogEntry, type OrbitDBIdentity, type Storage } from '@orbitdb/core'
import { MAX_ENTRY_LINKS } from '../../constants.ts'
import { RefusedEntryError } from '../../errors.ts'
import { entryTime } from '../../access/entry-shape.ts'
import type { InboxPayload } from '../../access/payloads.ts'
import type { BlockToStore, BlockWriter } from './block-writer.ts'
import type { BatchStorage } from './level-storage.ts'
import type { WriteOptions } from '../storage-health.ts'
import { groupCommit, type GroupCommit } from '../../util/group-commit.ts'
import type { EnvelopeBlock } from '../envelope-block.ts'

/** One append: an entry payload, and the envelope block to store with it. */
export interface AppendItem {
  payload: InboxPayload
  envelope?: EnvelopeBlock
}

/** An appended entry, as `Log.append` returns it, with its block bytes. */
export type AppendedEntry = LogEntry<InboxPayload>

export interface LogWriterParams {
  identity: OrbitDBIdentity
  /** The log id: the inbox address. */
  logId: string
  access: { canAppend: (entry: unknown) => Promise<boolean>, explain: (entry: unknown) => { message: string } | undefined }
  /** The log's current heads. */
  heads: () => Promise<Array<{ hash: string }>>
  blocks: BlockWriter
  /** The memory cache in front of the log's entry blocks (so reads after the commit stay in memory). */
  entryCache: Storage<Uint8Array>
  /** OrbitDB's `log/_index`: entry hash → true. */
  index: BatchStorage
  /**
   * OrbitDB's `log/_heads`: key 'heads' → JSON [{ hash, next }]. `get` reads through the cache,
   * `cache` updates only the cache, `persist` writes LevelDB with `options`.
   */
  headsStore: {
    get: (key: string) => Promise<Uint8Array | undefined>
    cache: (key: string, value: Uint8Array) => Promise<void>
    persist: (key: string, value: Uint8Array, options: WriteOptions) => Promise<void>
  }
  /** Options of the last write into each LevelDB (`sync: true`: durable receipts). */
  durable: WriteOptions
  /** Runs a commit with no other log writer (join) at the same time. */
  exclusively: <T>(fn: () => Promise<T>) => Promise<T>
  /** After the writes: index the entries, announce them. Part of the commit. */
  onAppended: (entries: AppendedEntry[], envelopes: EnvelopeBlock[]) => Promise<void>
  /** Most appends in one commit. Default 64. */
  maxGroup?: number
}

interface HeadRecord { hash: string, next: string[] }

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** An entry joined from a replica: its block, and the links of the block decoded. */
export interface JoinedEntry {
  hash: string
  bytes: Uint8Array
  next: string[]
  refs: string[]
}

/** Entries written per group of a join: one batch of blocks and pins, one of the index, one heads write. */
const JOIN_GROUP = 2048
/** A join's writes are not synced: a receipt that names a joined entry waits for a flush (durable-joins.ts). */
const UNSYNCED: WriteOptions = { sync: false }

export interface LogWriter extends GroupCommit<AppendItem, AppendedEntry> {
  /** Resolves when every heads write under way, and what follows it (`onAppended`), has ended. */
  settled: () => Promise<void>
  /**
   * Write entries joined from a replica, checked by the caller (signature, rules), parents before
   * children, every parent in the log or among them. In groups of JOIN_GROUP: blocks and pins
   * (one batch), then the entry index (one batch), then the heads (the group's newest entries
   * replace the heads they link to), in order after the appends' heads writes. Resolves once all
   * are in LevelDB (not synced). An entry already in the log must not be passed as a head.
   */
  join: (entries: JoinedEntry[]) => Promise<void>
}

export function createLogWriter (params: LogWriterParams): LogWriter {
  const { identity, logId, access } = params

  /** Create, sign and check the group's entries, chained one after the other. */
  const build = async (items: AppendItem[]): Promise<{ outcomes: Array<AppendedEntry | Error>, entries: AppendedEntry[], blocks: BlockToStore[], envelopes: EnvelopeBlock[] }> => {
    // Link the newest heads, at most MAX_ENTRY_LINKS (the rest stay heads for the next entries),
    // and tick past the highest of them (PROTOCOL §9.3). Heads without a usable time cannot come
    // from a checked log; they are left unlinked rather than breaking every append.
    const linked = (await params.heads()).filter(h => entryTime(h) !== undefined).slice(0, MAX_ENTRY_LINKS)
    let next = linked.map(h => h.hash)
    let time = 0
    for (const head of linked) time = Math.max(time, entryTime(head)!)
    const outcomes: Array<AppendedEntry | Error> = []
    const entries: AppendedEntry[] = []
    const blocks: BlockToStore[] = []
    const envelopes: EnvelopeBlock[] = []
    for (const item of items) {
      const signed = await Entry.create(identity, logId, item.payload, undefined, { id: identity.publicKey, time: time + 1 }, next, [])
      // `identity` is not signed; the rules fix it to `key` so that an entry has one encoding only.
      const created = { ...signed, identity: signed.key }
      const { hash, bytes } = await Entry.encode(created)
      const entry = { ...created, hash, bytes } as AppendedEntry
      // The controller's own check, on the entry as it will be stored (its verdict is cached by hash).
      const stored = { ...created, hash }
      if (!await access.canAppend(stored)) {
        const op = item.payload?.op === 'MAIL' || item.payload?.op === 'PRUNE' ? item.payload.op : 'unknown'
        outcomes.push(new RefusedEntryError(`The inbox ${logId} refuses this ${op} entry: ${access.explain(stored)?.message ?? 'refused'}`))
        continue
      }
      time += 1
      next = [hash]
      outcomes.push(entry)
      entries.push(entry)
      if (item.envelope !== undefined) {
        envelopes.push(item.envelope)
        blocks.push({ cid: item.envelope.cid, bytes: item.envelope.bytes, pin: 0 })
      }
      blocks.push({ cid: CID.parse(hash, base58btc), bytes, pin: 'all' })
    }
    return { outcomes, entries, blocks, envelopes }
  }

  const readHeads = async (): Promise<HeadRecord[]> => {
    const bytes = await params.headsStore.get('heads')
    return bytes === undefined ? [] : JSON.parse(decoder.decode(bytes)) as HeadRecord[]
  }

  const commit = async (items: AppendItem[]): Promise<Array<Promise<AppendedEntry> | Error>> => await params.exclusively(async () => {
    const { outcomes, entries, blocks, envelopes } = await build(items)
    if (entries.length === 0) return outcomes as Error[]
    // Blocks and the entry index at once: until the heads name them, entries marked in the index
    // are unreachable, so either may land first (a crash between loses nothing receipted).
    await Promise.all([params.blocks.write(blocks), params.index.putMany(entries.map(e => [e.hash, true]), params.durable)])
    for (const entry of entries) await params.entryCache.put(entry.hash, entry.bytes)
    const first = entries[0]!
    const last = entries[entries.length - 1]!
    const linked = new Set(first.next)
    const heads = [...(await readHeads()).filter(h => !linked.has(h.hash)), { hash: last.hash, next: last.next }]
    const bytes = encoder.encode(JSON.stringify(heads))
    await params.headsStore.cache('heads', bytes)
    // Steps 2–3 after the heads write before (in order, whatever its outcome), outside this commit.
    const written = headsWrites.catch(() => {}).then(async () => { await params.headsStore.persist('heads', bytes, params.durable) })
    const done = written.then(async () => { await params.onAppended(entries, envelopes) })
    headsWrites = written
    tail = done.catch(() => {})
    return outcomes.map(o => o instanceof Error ? o : done.then(() => o))
  })

  /**
   * Join `group`: blocks before the index (a crash between leaves blocks nothing names; the index
   * never names an entry whose block is missing: a later session would skip it), then the heads.
   * Until the heads name them, entries in the index are unreachable.
   */
  const joinGroup = async (group: JoinedEntry[]): Promise<void> => {
    await params.blocks.write(group.map(e => ({ cid: CID.parse(e.hash, base58btc), bytes: e.bytes, pin: 'all' as const })), { durable: false })
    await params.index.putMany(group.map(e => [e.hash, true]), UNSYNCED)
    for (const entry of group) await params.entryCache.put(entry.hash, entry.bytes)
    const written = await params.exclusively(async () => {
      // As OrbitDB's joinEntry: heads linked (next or refs) by a joined entry are heads no more;
      // a joined entry that no other links to is one.
      const linked = new Set(group.flatMap(e => [...e.next, ...e.refs]))
      const kept = (await readHeads()).filter(h => !linked.has(h.hash))
      const known = new Set(kept.map(h => h.hash))
      const heads = [...kept, ...group.filter(e => !linked.has(e.hash) && !known.has(e.hash)).map(e => ({ hash: e.hash, next: e.next }))]
      const bytes = encoder.encode(JSON.stringify(heads))
      await params.headsStore.cache('heads', bytes)
      const write = headsWrites.catch(() => {}).then(async () => { await params.headsStore.persist('heads', bytes, UNSYNCED) })
      headsWrites = write
      // After whatever steps 2–3 of the appends are still running, too.
      tail = Promise.all([tail, write.catch(() => {})]).then(() => {})
      return { write } // not awaited here: appends may go on while it is flushed
    })
    await written.write
  }

  const join = async (entries: JoinedEntry[]): Promise<void> => {
    for (let i = 0; i < entries.length; i += JOIN_GROUP) await joinGroup(entries.slice(i, i + JOIN_GROUP))
  }

  /** The last heads write started, and the end of the last group's steps 2–3. */
  let headsWrites: Promise<void> = Promise.resolve()
  let tail: Promise<void> = Promise.resolve()
  // An outcome is the promise of its append (it resolves after steps 2–3); submit adopts it.
  const group = groupCommit<AppendItem, Promise<AppendedEntry>>(commit, { maxGroup: params.maxGroup })
  const settled = async (): Promise<void> => {
    for (let last; last !== tail;) { last = tail; await last }
  }
  return {
    submit: async (item) => await group.submit(item),
    idle: async () => { await group.idle(); await settled() },
    settled,
    join
  }
}
