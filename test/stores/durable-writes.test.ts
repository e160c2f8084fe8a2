/**
 * Durable receipts (PROTOCOL.md §12.1): when a sender holds a receipt, every LevelDB write that
 * holds its mail (the envelope and entry blocks, their pins, the entry index, the heads) is on
 * disk: it was a `sync` write, or a `sync` write into the same LevelDB began after it ended and
 * ended before the receipt (LevelDB's log is sequential, one fdatasync covers what precedes it).
 * The entry index and the heads of every inbox are in one LevelDB per home (`inboxes/`, under the
 * inbox's key prefix: stores/orbitdb/inbox-store.ts).
 *
 * How: every LevelDB write of this process is recorded (classic-level's `_put`, `_batch` and the
 * chained batch's `_write`, wrapped: location, keys, small values, `sync`, and a sequence number
 * at start and end) while a real host on 127.0.0.1 answers real deliveries.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { Level } from 'level'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { deliverTo, type Receipt } from '../../src/node/deliver.ts'
import { withFreshSender } from '../../src/node/sender.ts'
import { blockKey, pinKey } from '../../src/stores/orbitdb/block-writer.ts'
import { inboxPrefix } from '../../src/stores/orbitdb/inbox-store.ts'
import { connect, DEFAULT_WAIT_MS, makeTempHome } from '../helpers/nodes.ts'
import { waitFor } from '../helpers/wait.ts'
import { replicaPool, stampedMail, type Replica } from '../helpers/replicas.ts'

const BITS = 0

interface Write { location: string, keys: string[], values: string[], sync: boolean, start: number, end: number }

const writes: Write[] = []
let seq = 0
const text = (v: unknown): string => typeof v === 'string' ? v : v instanceof Uint8Array && v.byteLength < 4096 ? Buffer.from(v).toString('latin1') : ''

/** Wrap an async write method of `proto` so that each call is recorded. */
function record (proto: any, name: string, ops: (self: any, args: any[]) => Array<{ key: unknown, value?: unknown }>, location: (self: any) => string): () => void {
  const original = proto[name]
  proto[name] = async function (this: any, ...args: any[]) {
    const options = args[args.length - 1] as { sync?: boolean } | undefined
    const w: Write = { location: location(this), keys: [], values: [], sync: options?.sync === true, start: ++seq, end: Infinity }
    for (const op of ops(this, args)) { w.keys.push(text(op.key)); w.values.push(text(op.value)) }
    writes.push(w)
    const result = await original.apply(this, args)
    w.end = ++seq
    return result
  }
  return () => { proto[name] = original }
}

const restore: Array<() => void> = []
let owner: Identity, alice: Identity
let host: Replica
const replica = replicaPool()

before(async () => {
  const levelProto = Level.prototype as any
  restore.push(record(levelProto, '_put', (_self, [key, value]) => [{ key, value }], self => self.location))
  restore.push(record(levelProto, '_batch', (_self, [operations]) => operations, self => self.location))
  // The chained batch (db.batch() then write()): its class is the prototype of one.
  const probeHome = await makeTempHome()
  const probe = new Level(probeHome)
  await probe.open()
  const chained = Object.getPrototypeOf(probe.batch())
  await probe.close()
  await rm(probeHome, { recursive: true, force: true })
  restore.push(record(chained, '_write', () => [], self => self.db.location))
  ;[owner, alice] = await Promise.all([createIdentity(), createIdentity()])
  host = await replica()
  await host.inbox(owner.peerId, BITS)
})
after(async () => {
  for (const r of restore) r()
  await replica.stopAll()
})

const stamped = async (i: number): ReturnType<typeof stampedMail> => await stampedMail(alice, owner.peerId, BITS, `durable ${i}`)

/**
 * Why the write of `key` (into the LevelDB at a location ending in `store`, under `home`) is not
 * durable at `at`, or undefined when it is.
 */
function notDurable (store: string, matches: (w: Write) => boolean, at: number, home: string): string | undefined {
  const mine = writes.filter(w => w.location.startsWith(home) && w.location.endsWith(store))
  const w = mine.find(matches)
  if (w === undefined) return `${store}: no write of it`
  if (w.end > at) return `${store}: written after the receipt`
  if (w.sync) return undefined
  if (mine.some(s => s.sync && s.start > w.end && s.end < at)) return undefined
  return `${store}: written without sync, and no sync write followed before the receipt`
}

/** Every write the receipt's mail depends on, in the LevelDBs under `home` (the host's), was durable at `at`. */
function assertDurable (receipt: Receipt, at: number, home = host.home): void {
  const env = CID.parse(receipt.env)
  const entry = CID.parse(receipt.entry, base58btc)
  const indexKey = `${inboxPrefix(receipt.inbox)}!index!${receipt.entry}`
  const headsKey = `${inboxPrefix(receipt.inbox)}!heads!heads`
  const indexed = writes.find(x => x.location.startsWith(home) && x.keys.includes(indexKey))
  const problems = [
    notDurable('/blocks', w => w.keys.includes(blockKey(env)), at, home),
    notDurable('/blocks', w => w.keys.includes(blockKey(entry)), at, home),
    notDurable('/datastore', w => w.keys.includes(pinKey(env)), at, home),
    notDurable('/datastore', w => w.keys.includes(pinKey(entry)), at, home),
    notDurable('/inboxes', w => w.keys.includes(indexKey), at, home),
    // The heads that name the entry (a join writes them before the index), or an entry after it (a
    // group's last entry links back to it).
    notDurable('/inboxes', w => w.keys.includes(headsKey) && (w.values.some(v => v.includes(receipt.entry)) || (indexed !== undefined && w.start > indexed.start)), at, home)
  ].filter(p => p !== undefined)
  assert.deepEqual(problems, [], `receipt for ${receipt.entry}: the mail is not on disk yet`)
}

test('every receipt, one at a time: the envelope, entry, pins, entry index and heads were synced to disk before it', async () => {
  await withFreshSender(async (libp2p, dial) => {
    await dial(host.node.multiaddrs()[0]!)
    for (let i = 0; i < 5; i++) {
      const receipt = await deliverTo(libp2p, host.node.peerId, await stamped(i))
      assertDurable(receipt, ++seq)
    }
  })
})

/** Deliver `requests` from one fresh sender, 8 in flight on its one connection; each receipt must be durable. */
async function deliverEightInFlight (requests: Array<Parameters<typeof deliverTo>[2]>): Promise<void> {
  await withFreshSender(async (libp2p, dial) => {
    await dial(host.node.multiaddrs()[0]!)
    let next = 0
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < requests.length) {
        const receipt = await deliverTo(libp2p, host.node.peerId, requests[next++]!, { timeoutMs: 120_000 })
        assertDurable(receipt, ++seq)
      }
    }))
  })
}

test('concurrent deliveries share their syncs (group commit): fewer synced batches than receipts, each receipt durable, heads written in order', async () => {
  const count = 32
  const requests = await Promise.all(Array.from({ length: count }, async (_, i) => await stamped(100 + i)))
  const from = seq
  // 8 in flight on the one connection, as the delivery bench does.
  await deliverEightInFlight(requests)
  const synced = writes.filter(w => w.start > from && w.sync && w.location.endsWith('/blocks')).length
  assert.ok(synced >= 1 && synced < count, `${synced} synced block batches for ${count} receipts`)
  // Groups overlap (the heads flush of one with the blocks of the next), their heads writes never.
  const headsKey = `${inboxPrefix(requests[0]!.inbox)}!heads!heads`
  const heads = writes.filter(w => w.start > from && w.location.endsWith('/inboxes') && w.keys.includes(headsKey))
  for (let i = 1; i < heads.length; i++) assert.ok(heads[i]!.start > heads[i - 1]!.end, 'each heads write starts after the one before ended')
})

test('a replay of an envelope joined from a co-host is receipted only after the joined writes are synced', async () => {
  // The co-host takes the delivery first; the host joins its entry (and stores its envelope) over
  // /ipms/sync; then the sender delivers the same mail to the host, which answers with the
  // co-host's entry as a replay: the entry's block, pin, index and heads must be on the host's disk.
  const coHost = await replica({ grantsFrom: [owner] })
  const coInbox = await coHost.inbox(owner.peerId, BITS)
  const hostInbox = await host.inbox(owner.peerId, BITS)
  await connect(coHost.node, host.node)
  const request = await stamped(1000)
  const first = await withFreshSender(async (libp2p, dial) => {
    await dial(coHost.node.multiaddrs()[0]!)
    return await deliverTo(libp2p, coHost.node.peerId, request)
  })
  // syncWith returns once the host has the blocks; the host joins and stores them after.
  await coHost.sync.syncWith(host.node.peerId, coInbox)
  await waitFor([[hostInbox.events, 'synced']], async () => await hostInbox.firstEntry(request.mail.env) !== undefined && await hostInbox.hasEnvelope(request.mail.env), AbortSignal.timeout(DEFAULT_WAIT_MS))
  const replay = await withFreshSender(async (libp2p, dial) => {
    await dial(host.node.multiaddrs()[0]!)
    return await deliverTo(libp2p, host.node.peerId, request)
  })
  assert.equal(replay.entry, first.entry, 'the host answered with the co-host\'s entry (a replay)')
  assertDurable(replay, ++seq)
})

test('deliveries into many inboxes at once share the inbox store\'s synced batches (one group commit per node), each receipt durable', async () => {
  const owners = await Promise.all(Array.from({ length: 8 }, async () => await createIdentity()))
  for (const o of owners) await host.inbox(o.peerId, BITS)
  const requests = await Promise.all(Array.from({ length: 32 }, async (_, i) => await stampedMail(alice, owners[i % owners.length]!.peerId, BITS, `many inboxes ${i}`)))
  const from = seq
  // 8 in flight, each into another inbox: no two of a group in the same inbox.
  await deliverEightInFlight(requests)
  // Each delivery has two synced writes of its own inbox's records (index, heads): shared, far fewer.
  const synced = writes.filter(w => w.start > from && w.sync && w.location.startsWith(host.home) && w.location.endsWith('/inboxes')).length
  assert.ok(synced >= 1 && synced < requests.length, `${synced} synced batches into the inbox store for ${requests.length} receipts`)
})
