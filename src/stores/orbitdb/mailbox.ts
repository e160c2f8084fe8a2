/**
 * The mailbox: an inbox log of MAIL and PRUNE entries (OrbitDB 4's log format), with an index of
 * pending mail and the envelope blocks it still holds (docs/ARCHITECTURE.md, stores; the functions
 * of the port, stores/inbox.ts). Built over OrbitDB's `Log` (`openMailbox`, what IPMS opens: no
 * `Database`, open-inbox.ts), or over its `Database` (`Mailbox()`, the `ipms-mailbox` database type
 * for an OrbitDB program; composed like `databases/events.js`). Either returns a plain object:
 * - `addMail(payload, envelope)`  store an envelope and append its MAIL entry;
 * - `receive(payload, envelope)`  the same, once per envelope (a host after delivery): a replay, or
 *                           a delivery racing one of the same envelope, appends nothing and gets the
 *                           first entry of the envelope and when it was first seen here (its receipt);
 * - `add(payload)`          append a MAIL entry (its envelope stored before, `putEnvelope`);
 * - `prune(entries, seed)`  append owner-signed PRUNE entries (only the owner's seed signs them);
 * - `pending()`             unpruned mail, newest first, from the LevelDB index;
 * - `putEnvelope` / `getEnvelope` / `hasEnvelope`   envelope blocks, pinned until pruned;
 * - `joinHeads(heads)`      join heads received from a replica with the entries they need, checked
 *                           then written in batches; `putEnvelopes(blocks)` their envelopes, in one;
 * - events: `mail` (PendingMail) for every new mail, appended here or joined from a replica;
 *   `pruned` (envelope CID) once an envelope's block is deleted; `synced` after a sync session;
 *   `gc-error` (Error) when deleting pruned envelopes failed (they are tried again at the next GC).
 *
 * Appends do not go through OrbitDB's `addOperation`: they are grouped (stores/orbitdb/log-writer.ts), so
 * that deliveries arriving while one is being written are written together in one turn. Appends
 * and joins run one at a time (both read and then write the log's heads).
 *
 * Joins (from /ipms/sync) do not go through OrbitDB's `joinEntry` either: every entry is checked
 * here as it would (rules, signature: entry-signature.ts), then the log writer writes them in
 * groups. They are written without sync; an answer to a delivery that names a joined entry waits
 * until they are on disk (stores/orbitdb/durable-joins.ts). An envelope block is stored for
 * pending mail only when it is the size that mail's entry states (PROTOCOL.md §10).
 *
 * Watch for (docs/DESIGN.md §5): OrbitDB calls `onUpdate` once per joined head, not per entry, so the
 * index walks back from each head to what it has already seen; join and index update are not
 * atomic, so the index also catches up from the heads when the database opens. Garbage collection
 * (unpin, delete) is restartable at every step and never fails an open: an inbox that cannot
 * delete a block still opens, serves and reads (PROTOCOL.md §9.4).
 */
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { EventEmitter } from 'node:events'
import { ComposedStorage, Database, IPFSBlockStorage, Log, LRUStorage, type DatabaseParams, type OrbitDBIdentity, type Storage } from '@orbitdb/core'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import { MAX_PRUNE_ENTRIES } from '../../constants.ts'
import { EnvelopeSizeError, RefusedEntryError } from '../../errors.ts'
import { parseEnvelopeCid, signPrune, type InboxPayload, type MailPayload } from '../../access/payloads.ts'
import type { InboxAccessController } from './inbox-access-controller.ts'
import { boundedMap } from '../../util/bounded-map.ts'
import { entryTime } from '../../access/entry-shape.ts'
import { nodeStorage, type BlockToStore, type BlockWriter, type HeliaBlocks } from './block-writer.ts'
import { removeBlocks, type HeliaRemovable } from './block-remover.ts'
import { durableJoins } from './durable-joins.ts'
import { envelopeBlock, isCheckedEnvelope, type EnvelopeBlock } from '../envelope-block.ts'
import { inboxId, openInboxStore } from './inbox-store.ts'
import { LevelBatchStorage, rememberingAbsent } from './level-storage.ts'
import { createLogWriter, type AppendItem } from './log-writer.ts'
import { openMailboxIndex, type FirstEntry, type IndexedOp, type PendingMail } from '../mailbox-index.ts'
import { serialQueue } from '../../util/serial-queue.ts'
import { concurrencyLimit } from '../../util/concurrency-limit.ts'
import { verifyEntrySignature } from './entry-signature.ts'
import { blocksSince, type BlockSource } from './inbox-blocks.ts'
import type { InboxEntry, JoinEntry, JoinHead, JoinOutcome, Received } from '../inbox.ts'

/** The fields of a log entry the index reads. */
interface LogEntry {
  hash: string
  payload: InboxPayload
  next: string[]
  refs: string[]
  clock: { time: number }
}

/** The OrbitDB log, as far as the mailbox uses it. */
interface OrbitLog {
  get: (hash: string) => Promise<InboxEntry | undefined>
  has: (hash: string) => Promise<boolean>
  heads: () => Promise<InboxEntry[]>
}

export type { JoinEntry, JoinHead, JoinOutcome, Received }

/** `entries` ordered parents first (whatever their clocks say): the order a join writes them in. */
function parentsFirst (entries: Map<string, JoinEntry>): JoinEntry[] {
  const ordered: JoinEntry[] = []
  const placed = new Set<string>()
  for (const root of entries.values()) {
    const stack: Array<{ entry: JoinEntry, expanded: boolean }> = [{ entry: root, expanded: false }]
    while (stack.length > 0) {
      const top = stack.pop()!
      if (placed.has(top.entry.hash)) continue
      if (top.expanded) {
        placed.add(top.entry.hash)
        ordered.push(top.entry)
        continue
      }
      stack.push({ entry: top.entry, expanded: true })
      for (const parent of [...top.entry.entry.next, ...top.entry.entry.refs]) {
        const block = entries.get(parent)
        if (block !== undefined && !placed.has(parent)) stack.push({ entry: block, expanded: false })
      }
    }
  }
  return ordered
}

/** What helia offers that the mailbox needs. */
interface HeliaLike extends HeliaBlocks, HeliaRemovable {
  blockstore: {
    get: (cid: CID, options?: { signal?: AbortSignal, offline?: boolean }) => Iterable<Uint8Array> | AsyncIterable<Uint8Array>
    has: (cid: CID) => Promise<boolean>
    /** What Helia's blockstore wraps: read without a session, delete a pinned block's record. */
    unwrap: () => BlockSource & ReturnType<HeliaRemovable['blockstore']['unwrap']>
  } & HeliaBlocks['blockstore'] & HeliaRemovable['blockstore']
  pins: HeliaBlocks['pins'] & HeliaRemovable['pins']
}

const debug = logger('ipms:mailbox')

/**
 * Entry blocks kept in memory in front of the blockstore: one cache per node, shared by its inboxes
 * (entries are content-addressed, and each names its inbox), so that memory does not grow with
 * the number of inboxes a host keeps (issue #13: 7 KiB per pending mail with a cache per inbox).
 */
const ENTRY_CACHE_SIZE = 4096
/** Entry index records of one inbox kept in memory (the rest are one LevelDB read away). */
const INDEX_CACHE_SIZE = 256
/**
 * Entries of a join whose signatures are checked at once, in node:crypto's thread pool: enough for
 * every core, few enough that the LevelDB writes sharing that pool (deliveries) do not queue behind.
 */
const SIGNATURE_CHECKS = 8
/** Envelopes remembered as stored here (spares a blockstore read per new mail in `hasEnvelope`). */
const STORED_CACHE_SIZE = 256

/**
 * One `make()` per node (its Helia), made at the first inbox opened on it, given to every inbox
 * without `clear` and `close`: an inbox closing or being dropped must not empty or end the others'.
 */
function perNode<S extends Storage> (make: (ipfs: HeliaLike) => Promise<S>): (ipfs: HeliaLike) => Promise<S> {
  const made = new WeakMap<object, Promise<S>>()
  return async (ipfs) => {
    let storage = made.get(ipfs)
    if (storage === undefined) made.set(ipfs, storage = make(ipfs))
    return { ...await storage, clear: async () => {}, close: async () => {} }
  }
}

/** The node's cache of log entries, shared by its inboxes. */
const sharedEntryCache = perNode(async () => await LRUStorage({ size: ENTRY_CACHE_SIZE }))
/**
 * The node's storage of entry blocks in Helia, shared by its inboxes: one per inbox cost each
 * opening an AbortController, and each closing an AbortError with its stack (reads it would cut
 * are the node's, stopped with Helia).
 */
const sharedEntryBlocks = perNode(async (ipfs) => await IPFSBlockStorage({ ipfs, pin: true }))

export type { PendingMail }

/**
 * Order entries causally: Lamport time, then hash, the same on every replica. Times are compared,
 * never subtracted: an entry without a usable time (none passes the rules, §9.3) sorts last.
 */
const causalOrder = (a: LogEntry, b: LogEntry): number => {
  const ta = entryTime(a) ?? Number.MAX_SAFE_INTEGER
  const tb = entryTime(b) ?? Number.MAX_SAFE_INTEGER
  if (ta !== tb) return ta < tb ? -1 : 1
  return a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0
}

/** The index's op for an entry; `held`: bytes of the envelopes stored with the entries being indexed. */
function indexedOp (entry: LogEntry, held?: Map<string, number>): IndexedOp | undefined {
  const payload = entry.payload
  if (payload.op === 'MAIL') return { hash: entry.hash, op: 'MAIL', env: payload.env, size: payload.size, ts: payload.ts, held: held?.get(payload.env) }
  if (payload.op === 'PRUNE') return { hash: entry.hash, op: 'PRUNE', entries: payload.entries }
  return undefined
}

/** The log's storages, as the mailbox builds them for OrbitDB's `Log`. */
export interface LogStorages {
  entryStorage: Storage
  headsStorage: Storage
  indexStorage: Storage
}

/** What a mailbox is built over: OrbitDB's log of the inbox, the events, the writer's identity and controller. */
interface LogParts {
  log: Log
  events: EventEmitter
  identity: OrbitDBIdentity
  access: InboxAccessController
  /** Close the log (its storages: the node's LevelDBs stay open). */
  close: () => Promise<void>
}

/** Where a mailbox lives: the node's Helia, the inbox address, OrbitDB's directory (for a Helia createNode did not make). */
interface MailboxPlace {
  ipfs: unknown
  address: string
  directory?: string
  /**
   * Blocks that go with the log's first write here (entries appended or joined): the inbox's
   * manifest and controller blocks, so that any OrbitDB program opens a log that has entries.
   */
  withFirstWrite?: BlockToStore[]
  /** Called once `withFirstWrite` is written. */
  firstWritten?: () => void
}

/**
 * The database type factory, in OrbitDB's shape (`Mailbox()` is what `useDatabaseType` wants): the
 * mailbox over OrbitDB's full `Database`, for an OrbitDB program that opens the inbox itself.
 * IPMS opens its inboxes with `openMailbox` (no `Database`: open-inbox.ts); both write the same.
 */
export function Mailbox () {
  return async (params: DatabaseParams) => {
    let database: Database | undefined
    const mailbox = await mailboxOver({ ipfs: params.ipfs, address: params.address, directory: params.directory }, async (storages, onUpdate) => {
      database = await Database({ ...params, ...storages, referencesCount: 0, onUpdate: async (log, entry) => { await onUpdate(entry) } })
      return { log: database.log, events: database.events, identity: database.identity, access: database.access as unknown as InboxAccessController, close: database.close }
    })
    return {
      ...database!,
      ...mailbox,
      type: 'ipms-mailbox',
      // Through the log writer too, so that nothing appends beside it.
      addOperation: async (payload: InboxPayload) => await mailbox.append(payload)
    }
  }
}
Mailbox.type = 'ipms-mailbox'

/**
 * The mailbox of the inbox at `address` over OrbitDB's `Log` alone, with the controller and the
 * identity given: what the full `Database` would read or build at every opening (its manifest
 * and controller blocks, its Sync, its queue) is not needed to append, join or read, and a host
 * opens inboxes on demand, one per delivery into an inbox not open (docs/ARCHITECTURE.md, "The
 * inbox port"). The records are the same: a stock OrbitDB opens the inbox as before.
 */
export async function openMailbox (place: MailboxPlace & { identity: OrbitDBIdentity, access: InboxAccessController }): Promise<MailboxInstance> {
  return await mailboxOver(place, async (storages) => {
    const log = await Log(place.identity, { logId: place.address, access: place.access, ...storages })
    const events = new EventEmitter()
    return { log, events, identity: place.identity, access: place.access, close: async () => { await log.close(); events.emit('close') } }
  })
}

/** An open mailbox: the port's functions (stores/inbox.ts) and its log, for the adapter. */
export type MailboxInstance = Awaited<ReturnType<typeof mailboxOver>>

/** The mailbox over the log `makeLog` gives for its storages; `onUpdate`: an entry joined by OrbitDB itself. */
async function mailboxOver (place: MailboxPlace, makeLog: (storages: LogStorages, onUpdate: (entry: LogEntry) => Promise<void>) => Promise<LogParts>) {
  const ipfs = place.ipfs as HeliaLike
  const address = place.address
  const directory = join(place.directory ?? './orbitdb', address)
  // The node's block writer, the health of its LevelDBs (durable writes, full disk) and the
  // home's inbox store, where this inbox's records live under its prefix (inbox-store.ts); a
  // Helia that createNode did not make gets a LevelDB of its own per inbox.
  const { blocks: nodeBlocks, health, inboxes } = nodeStorage(ipfs)
  // The log's writes of blocks: its first one carries `withFirstWrite` (again, if it failed).
  let firstBlocks = place.withFirstWrite ?? []
  const blocks: BlockWriter = {
    write: async (list, options) => {
      const extra = firstBlocks
      firstBlocks = []
      try {
        await nodeBlocks.write(extra.length === 0 ? list : [...extra, ...list], options)
        if (extra.length > 0) place.firstWritten?.()
      } catch (err) {
        if (firstBlocks.length === 0) firstBlocks = extra
        throw err
      }
    }
  }
  const own = inboxes === undefined ? await openInboxStore(join(directory, '_inbox'), health) : undefined
  const spaces = (inboxes ?? own!).spaces(address)
  // What an opening reads, in one LevelDB read: the log's heads, the index's byte total and tally.
  const [headsAtOpening, total, tally] = await spaces.readMany([['heads', 'heads'], ['mailbox', 't!'], ['mailbox', 'f!']])
  const text = (bytes: Uint8Array | undefined): string | undefined => bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8')
  const index = await openMailboxIndex(spaces.mailbox, { read: { 't!': text(total), 'f!': text(tally) } })
  let events: EventEmitter | undefined

  // Index updates run one at a time: appends and joins (sync) both update it.
  const indexed = serialQueue().run
  const catchUp = async (log: OrbitLog, roots: LogEntry[], fresh?: Map<string, LogEntry>, held?: Map<string, number>): Promise<void> => {
    await indexed(async () => { await walkAndApply(log, roots, fresh, held) })
  }

  /**
   * Walk back from `roots` to seen entries and apply what is new (causal order, one batch).
   * `fresh`: entries just appended here, new to the index by construction (no lookup needed);
   * `held`: bytes of the envelopes stored with them.
   */
  const walkAndApply = async (log: OrbitLog, roots: LogEntry[], fresh = new Map<string, LogEntry>(), held?: Map<string, number>): Promise<void> => {
    const isSeen = async (hash: string): Promise<boolean> => !fresh.has(hash) && await index.seen(hash)
    const unseen = new Map<string, LogEntry>()
    const stack = [...roots]
    while (stack.length > 0) {
      const entry = stack.pop()!
      if (unseen.has(entry.hash) || await isSeen(entry.hash)) continue
      unseen.set(entry.hash, entry)
      for (const hash of [...entry.next, ...entry.refs]) {
        if (unseen.has(hash) || await isSeen(hash)) continue
        const parent = fresh.get(hash) ?? await log.get(hash)
        if (parent !== undefined) stack.push({ ...parent, hash })
      }
    }
    if (unseen.size === 0) return
    const ops = [...unseen.values()].sort(causalOrder).map(e => indexedOp(e, held)).filter((op): op is IndexedOp => op !== undefined)
    const { added, pruned, garbage } = await index.apply(ops)
    for (const mail of added) events?.emit('mail', mail)
    if (garbage) await collectGarbage()
    // Announced once the blocks are gone, so that a listener sees the final state.
    for (const env of pruned) events?.emit('pruned', env)
  }

  /** Envelopes stored here (a positive cache of the blockstore, forgotten when GC deletes one). */
  const stored = boundedMap<string, true>(STORED_CACHE_SIZE)

  /**
   * Delete the envelope blocks of pruned mail (unpin, then delete: helia refuses pinned blocks),
   * then forget them from the queue. Each step may be cut by a crash and run again; a failure is
   * logged and emitted (`gc-error`), never thrown: the queue is tried again at the next GC.
   */
  const collectGarbage = async (): Promise<void> => {
    try {
      const envs = await index.garbage()
      if (envs.length === 0) return
      for (const env of envs) stored.delete(env)
      debug('deleting %d envelope blocks of %s', envs.length, address)
      await removeBlocks(ipfs, envs.map(env => CID.parse(env)))
      debug('deleted %d envelope blocks of %s', envs.length, address)
      await index.collected(envs)
      debug('collected %d envelopes of %s', envs.length, address)
    } catch (err) {
      debug.error('deleting pruned envelopes of %s failed, to be tried again: %s', address, (err as Error).message)
      events?.emit('gc-error', err)
    }
  }

  // The log's storages as OrbitDB builds them by default (same bytes, in the inbox store's key
  // spaces instead of LevelDBs of their own), kept in hand so that the log writer can fill them in batches.
  const entryCache = await sharedEntryCache(ipfs)
  const entryStorage = await ComposedStorage(entryCache, await sharedEntryBlocks(ipfs))
  const headsCache = await LRUStorage({ size: 4 }) // one key: 'heads'
  const headsLevel = rememberingAbsent(LevelBatchStorage<Uint8Array>(spaces.heads), { absent: headsAtOpening === undefined ? ['heads'] : [] })
  if (headsAtOpening !== undefined) await headsCache.put('heads', headsAtOpening)
  const headsStore = await ComposedStorage(headsCache, headsLevel)
  const entryIndex = LevelBatchStorage(spaces.index)
  // No back-references (Database's referencesCount 0): /ipms/sync moves every missing block in
  // one batch, so OrbitDB's skip-list refs only cost index reads on every join and index walk.
  const parts = await makeLog({
    entryStorage,
    headsStorage: headsStore,
    indexStorage: await ComposedStorage(await LRUStorage({ size: INDEX_CACHE_SIZE }), entryIndex)
  }, async (entry) => { await catchUp(parts.log, [entry]) })
  events = parts.events
  const { access, identity } = parts
  const log: OrbitLog = parts.log

  // Catch up with what was joined but not indexed before the last stop, and finish its GC.
  await catchUp(log, await log.heads())
  await collectGarbage()

  // Appends (log writer commits) and joins run one at a time: each reads the heads, then writes them.
  const exclusively = serialQueue().run

  const writer = createLogWriter({
    identity,
    logId: address,
    access,
    heads: async () => await log.heads(),
    blocks,
    entryCache,
    index: entryIndex,
    headsStore: {
      get: headsStore.get,
      cache: async (key, value) => { await headsCache.put(key, value) },
      persist: async (key, value, options) => { await headsLevel.putMany([[key, value]], options) }
    },
    durable: health.durable,
    exclusively,
    onAppended: async (entries, envelopes) => {
      for (const envelope of envelopes) stored.set(envelope.env, true)
      const last = entries[entries.length - 1]! as unknown as LogEntry
      const held = new Map(envelopes.map(e => [e.env, e.bytes.byteLength]))
      await catchUp(log, [last], new Map(entries.map(e => [e.hash, e as unknown as LogEntry])), held)
      for (const entry of entries) events?.emit('update', entry)
    }
  })

  /**
   * One synced write into each LevelDB a join writes (blocks, pins, entry index, heads), so that
   * every join before it is on disk: records just written, put again with the same bytes (an
   * empty synced batch writes nothing). The heads are read and put again with no append or join
   * under way, so that they cannot go back to an older value.
   */
  const flushJoins = async (): Promise<void> => {
    const head = (await log.heads())[0]
    if (head === undefined) return
    const bytes = await entryStorage.get(head.hash)
    await Promise.all([
      // An entry block is pinned by itself alone, at OrbitDB's depth: the records Helia wrote (block-writer.ts).
      bytes === undefined ? undefined : blocks.write([{ cid: CID.parse(head.hash, base58btc), bytes, pin: 'all' }]),
      entryIndex.putMany([[head.hash, true]], health.durable),
      exclusively(async () => {
        await writer.settled()
        const heads = await headsLevel.get('heads')
        if (heads !== undefined) await headsLevel.putMany([['heads', heads]], health.durable)
      })
    ])
  }
  // Joins are written without sync; a receipt that names a joined entry waits for them (§12.1).
  const joins = durableJoins(async () => { await health.write(flushJoins) }, health.durable.sync)

  // A full disk: StorageFullError, and appends refused at once until the node's stores reopen.
  // An append's synced writes also make the joins before it durable.
  const append = async (item: AppendItem): Promise<string> => await health.write(async () => await joins.covering(async () => (await writer.submit(item)).hash))

  /** Append a MAIL entry; its envelope should be stored first (`putEnvelope`). */
  const add = async (payload: MailPayload): Promise<string> => await append({ payload })

  /**
   * Store `envelope` and append its MAIL entry, written together with whatever else is being
   * appended now; resolves with the entry hash once both are in LevelDB.
   */
  const addMail = async (payload: MailPayload, envelope: EnvelopeBlock): Promise<string> => {
    const block = isCheckedEnvelope(envelope) ? envelope : await checkedEnvelope(envelope.env, envelope.bytes)
    if (block.env !== payload.env) throw new RefusedEntryError(`The envelope ${block.env} is not the one the payload names (${String(payload.env)})`)
    if (block.bytes.byteLength !== payload.size) throw new EnvelopeSizeError(`The envelope ${block.env} is ${block.bytes.byteLength} bytes, not the ${String(payload.size)} its payload states: seal and stamp it again`)
    return await append({ payload, envelope: block })
  }

  /** Deliveries being stored, by envelope: one that arrives meanwhile waits for it (one entry per envelope). */
  const receiving = new Map<string, Promise<FirstEntry>>()

  /**
   * Store a delivered mail once per envelope (PROTOCOL.md §12): when an entry of this log carries
   * the envelope already (appended here or joined from a co-host, pending or pruned), or one is
   * being appended, append nothing and answer with that first entry and when it was first seen
   * here, the same on every replay, across restarts. A replayed envelope this replica lacks is
   * stored while its mail is pending, if it is the size that mail states (EnvelopeSizeError
   * otherwise). An answer that names an entry joined from a co-host waits until the joins are
   * on disk (§12.1): the sender takes it as a receipt.
   */
  const receive = async (payload: MailPayload, envelope: EnvelopeBlock): Promise<Received> => {
    const running = receiving.get(payload.env)
    if (running !== undefined) return { ...await running, replay: true }
    let replay = false
    const run = (async (): Promise<FirstEntry> => {
      const known = await index.firstEntry(payload.env)
      if (known !== undefined) {
        replay = true
        if (!await hasEnvelope(payload.env)) {
          const block = await checkedEnvelope(payload.env, envelope.bytes, envelope)
          if (await pendingSize(block) !== undefined) await storeEnvelope(block)
        }
        await joins.durable()
        return known
      }
      const hash = await addMail(payload, envelope)
      // The envelope's first entry: this one, or a co-host's joined while it was written.
      const first = await index.firstEntry(payload.env)
      if (first === undefined) throw new Error(`The index lost the entry of ${payload.env} just appended: the mailbox index and the log disagree`)
      if (first.entry !== hash) await joins.durable()
      return first
    })()
    receiving.set(payload.env, run)
    try {
      return { ...await run, replay }
    } finally {
      receiving.delete(payload.env)
    }
  }

  /** Append PRUNE entries for `entries` (chunks of MAX_PRUNE_ENTRIES), signed with the owner's seed. */
  const prune = async (entries: string[], ownerSeed: Uint8Array, ts = Date.now()): Promise<string[]> => {
    const unique = [...new Set(entries)]
    const chunks: string[][] = []
    for (let i = 0; i < unique.length; i += MAX_PRUNE_ENTRIES) chunks.push(unique.slice(i, i + MAX_PRUNE_ENTRIES))
    // Submitted together, in order: the log writer writes them in one group (10,000 read mails:
    // ten PRUNE entries, one commit rather than ten).
    return await Promise.all(chunks.map(async chunk => await append({ payload: signPrune(address, chunk, ts, ownerSeed) })))
  }

  const envelopeCid = (env: string): CID => {
    const cid = parseEnvelopeCid(env)
    if (cid === undefined) throw new RefusedEntryError(`${env} is not an envelope CID`)
    return cid
  }

  /** `given` when it is a checked block of `env`, else the bytes checked against `env`. */
  const checkedEnvelope = async (env: string, bytes: Uint8Array, given?: EnvelopeBlock): Promise<EnvelopeBlock> => {
    if (given !== undefined && isCheckedEnvelope(given) && given.env === env) return given
    envelopeCid(env)
    const block = await envelopeBlock(env, bytes)
    if (block === undefined) throw new RefusedEntryError(`The envelope bytes do not hash to ${env}`)
    return block
  }

  /**
   * The size the pending mail of `block` states (undefined when no pending mail carries it);
   * EnvelopeSizeError when the block is not that size: the stamp paid for that size (§5.2, §10).
   */
  const pendingSize = async (block: EnvelopeBlock): Promise<number | undefined> => {
    const size = await index.pendingSize(block.env)
    const problem = wrongSize(block, size)
    if (problem !== undefined) throw new EnvelopeSizeError(problem)
    return size
  }

  /** Why `block` is not the `size` its pending mail states, if it is not. */
  const wrongSize = (block: EnvelopeBlock, size: number | undefined): string | undefined =>
    size === undefined || size === block.bytes.byteLength
      ? undefined
      : `The envelope ${block.env} is ${block.bytes.byteLength} bytes, but the entry of its pending mail states ${size}: it is not stored`

  /** Store and pin a checked envelope block; the index counts it (or has it deleted again if pruned meanwhile). */
  const storeEnvelope = async (block: EnvelopeBlock): Promise<void> => {
    await blocks.write([{ cid: block.cid, bytes: block.bytes, pin: 0 }])
    stored.set(block.env, true)
    await indexed(async () => {
      if (await index.held(block.env, block.bytes.byteLength)) await collectGarbage()
    })
  }

  /**
   * Store and pin an envelope block under its CID (checked: the bytes must hash to it, and be the
   * size its pending mail states, if any: EnvelopeSizeError otherwise).
   */
  const putEnvelope = async (env: string, bytes: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<void> => {
    const block = await checkedEnvelope(env, bytes)
    await pendingSize(block)
    options.signal?.throwIfAborted()
    await health.write(async () => { await storeEnvelope(block) })
  }

  /**
   * Store envelope blocks received from a replica, checked against their CIDs (PROTOCOL.md §10):
   * only those an unpruned MAIL entry of the log carries, and only at the size its pending mail
   * states; the others are dropped (`refused` says why for a wrong size). All of them go in one
   * batch of blocks and pins, then into the index together.
   */
  const putEnvelopes = async (received: EnvelopeBlock[]): Promise<{ stored: string[], refused: Array<{ env: string, reason: string }> }> => {
    const kept: EnvelopeBlock[] = []
    const refused: Array<{ env: string, reason: string }> = []
    const blocksIn = await Promise.all(received.map(async given => await checkedEnvelope(given.env, given.bytes, given)))
    const states = await index.envelopeStates(blocksIn.map(block => block.env))
    blocksIn.forEach((block, i) => {
      const { wanted, size } = states[i]!
      if (!wanted) return
      // As `pendingSize` (§5.2, §10): the stamp paid for the size the entry states.
      const problem = wrongSize(block, size)
      if (problem === undefined) kept.push(block)
      else refused.push({ env: block.env, reason: problem })
    })
    if (kept.length === 0) return { stored: [], refused }
    await health.write(async () => {
      await blocks.write(kept.map(block => ({ cid: block.cid, bytes: block.bytes, pin: 0 as const })))
      for (const block of kept) stored.set(block.env, true)
      await indexed(async () => {
        if (await index.heldMany(kept.map(block => ({ env: block.env, bytes: block.bytes.byteLength })))) await collectGarbage()
      })
    })
    return { stored: kept.map(block => block.env), refused }
  }

  const hasEnvelope = async (env: string): Promise<boolean> => stored.has(env) || await ipfs.blockstore.has(envelopeCid(env))

  /** The envelope block from the local blockstore only; undefined when it is not here. */
  const getEnvelope = async (env: string): Promise<Uint8Array | undefined> => {
    const cid = envelopeCid(env)
    if (!await ipfs.blockstore.has(cid)) return undefined
    // Helia 6's blockstore yields a block as chunks.
    const chunks: Uint8Array[] = []
    for await (const chunk of ipfs.blockstore.get(cid, { offline: true })) chunks.push(chunk)
    return chunks.length === 1 ? chunks[0] : new Uint8Array(Buffer.concat(chunks))
  }

  /** Joins one at a time: each checks that its heads are new, then writes them. */
  const joining = serialQueue().run

  /**
   * Join heads received from a replica, with the entries each needs (PROTOCOL.md §10): every
   * entry is checked here (the rules, `canAppend`, and its signature), and a head joins only when
   * every entry it needs passes, as OrbitDB's `joinEntry` would; the entries of the heads that
   * join are then written in batches (log-writer.ts `join`), indexed in one batch, and announced
   * ('update' per head). A head the rules refuse is reported, not thrown: the others still join.
   */
  const joinHeads = async (heads: JoinHead[]): Promise<JoinOutcome> => await joining(async () => {
    const verdicts = new Map<string, string | undefined>()
    const refusal = async ({ hash, entry }: JoinEntry): Promise<string | undefined> => {
      if (!verdicts.has(hash)) {
        const rules = await access.canAppend(entry) ? undefined : access.explain(entry)?.message ?? 'the rules refuse it'
        const signature = rules !== undefined || await verifyEntrySignature(entry, identity.verify) ? undefined : `its signature by ${String(entry.key)} does not verify`
        verdicts.set(hash, rules ?? signature)
      }
      return verdicts.get(hash)
    }
    const fresh: JoinHead[] = []
    for (const head of heads) if (!await log.has(head.hash)) fresh.push(head) // not joined meanwhile
    // Every entry checked once, many at once (signatures in the thread pool).
    const checks = concurrencyLimit(SIGNATURE_CHECKS)
    await Promise.all([...new Map(fresh.flatMap(head => head.needed.map(e => [e.hash, e]))).values()].map(async e => { await checks.run(async () => await refusal(e)) }))
    const joined: JoinHead[] = []
    const refused: JoinOutcome['refused'] = []
    const entries = new Map<string, JoinEntry>()
    for (const head of fresh) {
      let reason: string | undefined
      for (const needed of head.needed) {
        const problem = await refusal(needed)
        if (problem === undefined) continue
        reason = needed.hash === head.hash ? problem : `an entry it links to is refused: ${problem}`
        break
      }
      if (reason !== undefined) {
        refused.push({ hash: head.hash, reason })
        continue
      }
      joined.push(head)
      for (const needed of head.needed) entries.set(needed.hash, needed)
    }
    if (joined.length === 0) return { joined: [], refused }
    await writer.join(parentsFirst(entries).map(({ hash, bytes, entry }) => ({ hash, bytes, next: entry.next, refs: entry.refs })))
    // Before the index names the entries: a replay that finds one there waits for this join.
    joins.joined()
    const tops = joined.flatMap(head => entries.get(head.hash)?.entry ?? [])
    await catchUp(log, tops, new Map([...entries.values()].map(e => [e.hash, e.entry])))
    for (const entry of tops) events?.emit('update', entry)
    return { joined: joined.map(head => head.hash), refused }
  })

  /** Host retention: drop the envelopes of pending mail this replica first saw before `before` (ms). */
  const expireBefore = async (before: number): Promise<string[]> => await indexed(async () => {
    const envs = await index.expire(before)
    if (envs.length > 0) await collectGarbage()
    for (const env of envs) events?.emit('expired', env)
    return envs
  })

  const close = async (): Promise<void> => {
    await writer.idle()
    // Closes its storages, which leave the node's inbox store open.
    await parts.close()
    await own?.close()
  }

  return {
    log: parts.log,
    events: parts.events,
    append: async (payload: InboxPayload) => await append({ payload }),
    add,
    addMail,
    receive,
    firstEntry: index.firstEntry,
    heads: async () => await log.heads(),
    has: async (hash: string) => await log.has(hash),
    get: async (hash: string) => await log.get(hash),
    blocksSince: (theirs: ReadonlySet<string>, want: readonly string[]) => blocksSince(ipfs.blockstore.unwrap(), { heads: async () => await log.heads(), wantsEnvelope: index.wantsEnvelope }, theirs, want),
    prune,
    pending: index.pending,
    pendingBytes: index.pendingBytes,
    summary: index.summary,
    lackingEnvelopes: index.lacking,
    joinHeads,
    expireBefore,
    wantsEnvelope: index.wantsEnvelope,
    putEnvelope,
    putEnvelopes,
    getEnvelope,
    hasEnvelope,
    close
  }
}

/** An open mailbox database, as `Mailbox()` makes it. */
export type MailboxDatabase = Awaited<ReturnType<ReturnType<typeof Mailbox>>>
