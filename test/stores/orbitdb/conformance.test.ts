/**
 * The inbox stays an OrbitDB log (issue #13): what IPMS writes is what OrbitDB 4 itself writes,
 * and each side reads and joins what the other wrote, with real OrbitDB and real LevelDB.
 *
 * - IPMS's grouped writer against OrbitDB's own `Log.append`: the same entry blocks, `log/_heads`
 *   and `log/_index` bytes for the same appends;
 * - a stock OrbitDB `Database` (the `ipms-inbox` controller registered, as every OrbitDB program
 *   opening an inbox must) opens an inbox IPMS wrote and reads every entry, both over IPMS's
 *   storages and joining its head into storages of its own (OrbitDB's `joinEntry` verifying each);
 * - IPMS takes in entries a stock OrbitDB `Database` appended: reads them at open and joins them
 *   from a co-host over /ipms/sync.
 *
 * A stock writer is given an identity whose `hash` is its public key: the inbox rules fix an entry's
 * unsigned `identity` field to its `key` (PROTOCOL.md §9.3), which OrbitDB takes from `identity.hash`.
 * Everything else (clock, links, references, signing, storage) is OrbitDB's.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { ComposedStorage, createOrbitDB, Database, IPFSBlockStorage, LevelStorage, Log, LRUStorage, type OrbitDBIdentity } from '@orbitdb/core'
import { createIdentity, type Identity } from '../../../src/identity/identity.ts'
import type { MailPayload } from '../../../src/access/payloads.ts'
import { openInbox } from '../../../src/stores/orbitdb/open-inbox.ts'
import { nodeStorage } from '../../../src/stores/orbitdb/block-writer.ts'
import { LevelBatchStorage } from '../../../src/stores/orbitdb/level-storage.ts'
import { connect, startTestNode, type TestNode } from '../../helpers/nodes.ts'
import { mailPayload } from '../../helpers/inbox.ts'
import { putMail, replicaPool, stampedMail } from '../../helpers/replicas.ts'

const dirs: string[] = []
const nodes: TestNode[] = []
const replicas = replicaPool()
after(async () => {
  await replicas.stopAll()
  await Promise.all(nodes.map(async n => { await n.cleanup() }))
  await Promise.all(dirs.map(async d => await rm(d, { recursive: true, force: true })))
})

async function tempDir (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ipms-orbitdb-conformance-'))
  dirs.push(dir)
  return dir
}

async function node (): Promise<TestNode> {
  const started = await startTestNode()
  nodes.push(started)
  return started
}

/** OrbitDB's identity of a node, its `hash` set to its key: what the rules want in `identity`. */
const keyIdentity = (identity: OrbitDBIdentity): OrbitDBIdentity => ({ ...identity, hash: identity.publicKey })

/** A block from a Helia blockstore (Helia 6 yields chunks). */
async function blockOf (n: TestNode, hash: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const chunk of n.node.helia.blockstore.get(CID.parse(hash, base58btc)) as AsyncIterable<Uint8Array>) chunks.push(chunk)
  return new Uint8Array(Buffer.concat(chunks))
}

const collect = async <T>(iterable: AsyncIterable<T>): Promise<T[]> => { const out: T[] = []; for await (const x of iterable) out.push(x); return out }

/**
 * A database type made of OrbitDB's `Database` alone: `addOperation(op)` appends `op` as the
 * entry's payload with `Log.append` (OrbitDB's default of 16 references).
 */
const StockDatabase = () => async (params: any): Promise<any> => ({ ...await Database(params), type: 'ipms-mailbox' })

/** Open `address` with a stock OrbitDB of its own on `n`'s Helia (its own keystore and directory). */
async function stockOrbitDB (n: TestNode, options: { keyIdentity?: boolean } = {}): Promise<any> {
  const directory = await tempDir()
  const base = await createOrbitDB({ ipfs: n.node.helia, directory })
  if (options.keyIdentity !== true) return base
  const identity = keyIdentity(base.identity)
  await base.stop()
  return await createOrbitDB({ ipfs: n.node.helia, directory, identity })
}

test('heads, index and entry blocks IPMS writes are byte for byte what OrbitDB\'s Log.append writes for the same appends', async () => {
  const n = await node()
  const owner = await createIdentity()
  const inbox = await openInbox(n.node.orbitdb, owner.peerId, 0)
  const payloads: MailPayload[] = Array.from({ length: 5 }, (_, i) => mailPayload(inbox.address, 0, { ts: 1767225600000 + i }))
  const ours: string[] = []
  for (const payload of payloads.slice(0, 2)) ours.push(await inbox.add(payload)) // one at a time
  ours.push(...await Promise.all(payloads.slice(2).map(async p => await inbox.add(p)))) // in one group
  await inbox.close()

  // OrbitDB's Log with OrbitDB's LevelStorage, as its Database makes them, signing with the same key.
  const dir = await tempDir()
  const heads = await LevelStorage({ path: join(dir, '_heads') })
  const index = await LevelStorage({ path: join(dir, '_index') })
  const entries = await LevelStorage({ path: join(dir, '_entries') })
  const log = await Log(keyIdentity(n.node.orbitdb.identity), { logId: inbox.address, access: { canAppend: async () => true }, entryStorage: entries, headsStorage: heads, indexStorage: index }) as any
  const theirs: string[] = []
  for (const payload of payloads) theirs.push((await log.append(payload)).hash)

  assert.deepEqual(ours, theirs, 'the same entries, linked the same way')
  for (const hash of ours) assert.deepEqual(Buffer.from(await blockOf(n, hash)), Buffer.from(await entries.get(hash) as Uint8Array), `entry block ${hash}`)
  const spaces = nodeStorage(n.node.helia).inboxes!.spaces(inbox.address)
  assert.deepEqual(Buffer.from((await spaces.heads.get('heads'))!), Buffer.from(await heads.get('heads') as Uint8Array), 'log/_heads')
  const theirIndex = await collect(index.iterator())
  assert.deepEqual((await collect(spaces.index.entries())).map(([k, v]) => [k, Buffer.from(v as Uint8Array)]), theirIndex.map(([k, v]: [string, Uint8Array]) => [k, Buffer.from(v)]), 'log/_index')
  assert.equal(theirIndex.length, 5)
  await log.close()
})

test('a stock OrbitDB Database opens an inbox IPMS wrote and reads every entry: over its storages, and joining its head into its own (OrbitDB\'s checks)', async () => {
  const n = await node()
  const owner = await createIdentity()
  const inbox = await openInbox(n.node.orbitdb, owner.peerId, 0)
  const alice = await createIdentity()
  const written: string[] = []
  for (let i = 0; i < 3; i++) written.push((await putMail(inbox, alice, `stock reads ${i}`)).hash)
  written.push(...await Promise.all([3, 4, 5].map(async i => (await putMail(inbox, alice, `stock reads ${i}`)).hash)))
  const pending = await inbox.pending()
  await inbox.close()
  const envs = new Map(pending.map(m => [m.hash, m.env]))

  // Over IPMS's own storages: the same records, read by OrbitDB's Database and Log.
  const spaces = nodeStorage(n.node.helia).inboxes!.spaces(inbox.address)
  const stock = await stockOrbitDB(n)
  try {
    const db = await stock.open(inbox.address, {
      Database: StockDatabase(),
      sync: false,
      entryStorage: await IPFSBlockStorage({ ipfs: n.node.helia, pin: true }),
      headsStorage: await ComposedStorage(await LRUStorage({ size: 10 }), LevelBatchStorage(spaces.heads)),
      indexStorage: await ComposedStorage(await LRUStorage({ size: 10 }), LevelBatchStorage(spaces.index))
    })
    assert.equal(db.access.type, 'ipms-inbox', 'the inbox\'s own controller, found by its type')
    const entries = await collect(db.log.iterator()) as Array<{ hash: string, payload: MailPayload }>
    assert.deepEqual(entries.map(e => e.hash).sort(), [...written].sort())
    for (const entry of entries) assert.equal(entry.payload.env, envs.get(entry.hash))
    const heads = await db.log.heads() as Array<{ hash: string }>
    await db.close()

    // Storages of its own: OrbitDB joins IPMS's head, each entry through canAppend and Entry.verify.
    const fresh = await stock.open(inbox.address, { Database: StockDatabase(), sync: false })
    assert.deepEqual(await collect(fresh.log.iterator()), [])
    for (const { hash } of heads) assert.equal(await fresh.log.joinEntry({ ...await fresh.log.get(hash), hash }), true)
    const joined = await collect(fresh.log.iterator()) as Array<{ hash: string, payload: MailPayload }>
    assert.deepEqual(joined.map(e => e.hash).sort(), [...written].sort())
    for (const entry of joined) assert.equal(entry.payload.env, envs.get(entry.hash))
    await fresh.close()
  } finally {
    await stock.stop()
  }
})

test('IPMS takes in entries a stock OrbitDB Database appended: reads them at open, joins them from a co-host over /ipms/sync', async () => {
  const owner = await createIdentity()
  const host = await replicas()
  const me = await replicas({ identity: owner })
  // IPMS's inbox on the host, with one mail of its own, then closed.
  const bits = 0
  const first = await host.inbox(owner.peerId, bits)
  const alice = await createIdentity()
  const ipmsMail = await putMail(first, alice, 'written by IPMS')
  await host.sync.unregister(first)
  await first.close()

  // A stock OrbitDB appends over the same records: MAIL entries of its own, with references.
  const spaces = nodeStorage(host.node.helia).inboxes!.spaces(first.address)
  const stock = await stockOrbitDB(host, { keyIdentity: true })
  const stockMail: Array<{ hash: string, env: string }> = []
  try {
    const db = await stock.open(first.address, {
      Database: StockDatabase(),
      sync: false,
      headsStorage: await ComposedStorage(await LRUStorage({ size: 10 }), LevelBatchStorage(spaces.heads)),
      indexStorage: await ComposedStorage(await LRUStorage({ size: 10 }), LevelBatchStorage(spaces.index))
    })
    for (let i = 0; i < 20; i++) {
      const { mail, envelope } = await stampedMail(alice, owner.peerId, bits, `written by OrbitDB ${i}`)
      await host.node.helia.blockstore.put(CID.parse(mail.env), envelope)
      for await (const _ of host.node.helia.pins.add(CID.parse(mail.env))) { /* pinned */ }
      stockMail.push({ hash: await db.addOperation(mail), env: mail.env })
    }
    const last = await db.log.get(stockMail[stockMail.length - 1]!.hash)
    assert.ok(last.refs.length > 0, 'OrbitDB\'s entries carry references')
    assert.equal(last.identity, last.key)
    await db.close()
  } finally {
    await stock.stop()
  }

  // IPMS opens the inbox again: the index catches up from the stock heads.
  const again = await openInbox(host.node.orbitdb, owner.peerId, bits)
  await host.sync.register(again)
  const hostPending = await again.pending()
  const all = [ipmsMail, ...stockMail]
  assert.deepEqual(hostPending.map(m => m.hash).sort(), all.map(m => m.hash).sort())

  // And the owner's node joins every one of them from the host, checked as any join.
  const mine = await me.inbox(owner.peerId, bits)
  await connect(me.node, host.node)
  const result = await me.sync.syncWith(host.node.peerId, mine)
  assert.equal(result.refused, 0)
  assert.equal(result.joined, 1, "one head")
  const myPending = await mine.pending()
  assert.deepEqual(myPending.map(m => m.hash).sort(), all.map(m => m.hash).sort())
  for (const { env } of all) assert.equal(await mine.hasEnvelope(env), true, `envelope ${env} came with its entry`)
  host.sync.unregister(again)
  await again.close()
})
