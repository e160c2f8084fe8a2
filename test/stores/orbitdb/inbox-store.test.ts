/**
 * One LevelDB per home for every inbox's records (stores/orbitdb/inbox-store.ts): key spaces that keep
 * inboxes apart, inboxes that open no file, and records a stock OrbitDB log reads as its own.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ComposedStorage, createOrbitDB, IPFSBlockStorage, Log, LRUStorage } from '@orbitdb/core'
import { createHelia } from 'helia'
import { createLibp2p } from 'libp2p'
import { createIdentity } from '../../../src/identity/identity.ts'
import { openInbox, type Inbox } from '../../../src/stores/orbitdb/open-inbox.ts'
import { openInboxStore } from '../../../src/stores/orbitdb/inbox-store.ts'
import { nodeStorage } from '../../../src/stores/orbitdb/block-writer.ts'
import { LevelBatchStorage, rememberingAbsent } from '../../../src/stores/orbitdb/level-storage.ts'
import { startTestNode, type TestNode } from '../../helpers/nodes.ts'
import { putMail } from '../../helpers/replicas.ts'

const dirs: string[] = []
const nodes: TestNode[] = []
after(async () => {
  await Promise.all(nodes.map(async n => { await n.cleanup() }))
  await Promise.all(dirs.map(async d => await rm(d, { recursive: true, force: true })))
})

async function tempStore (): Promise<Awaited<ReturnType<typeof openInboxStore>>> {
  const dir = await mkdtemp(join(tmpdir(), 'ipms-inbox-store-'))
  dirs.push(dir)
  return await openInboxStore(join(dir, 'inboxes'))
}

const collect = async <T>(iterable: AsyncIterable<T>): Promise<T[]> => { const out: T[] = []; for await (const x of iterable) out.push(x); return out }

test('key spaces keep inboxes and their parts apart: reads, ranges and clear stay inside one; drop removes one inbox and nothing else', async () => {
  const store = await tempStore()
  try {
    // One id a prefix of the other: their keys must not mix.
    const [a, b] = [store.spaces('/orbitdb/zdpuAbc'), store.spaces('/orbitdb/zdpuAbcd')]
    for (const [spaces, tag] of [[a, 'a'], [b, 'b']] as const) {
      await spaces.mailbox.batch(['m!1', 'm!2', 'm!3', 'g!x'].map(key => ({ type: 'put', key, value: `${tag}${key}` })))
      await spaces.heads.batch([{ type: 'put', key: 'heads', value: new TextEncoder().encode(tag) }])
    }
    assert.deepEqual(await collect(a.mailbox.keys()), ['g!x', 'm!1', 'm!2', 'm!3'])
    assert.deepEqual(await collect(a.mailbox.values({ gt: 'm!', lt: 'm"', reverse: true })), ['am!3', 'am!2', 'am!1'])
    assert.deepEqual(await collect(b.mailbox.entries({ gte: 'm!2', lte: 'm!3' })), [['m!2', 'bm!2'], ['m!3', 'bm!3']])
    assert.deepEqual(await collect(a.mailbox.keys({ limit: 2 })), ['g!x', 'm!1'])
    assert.deepEqual(await a.mailbox.getMany(['m!1', 'zz']), ['am!1', undefined])
    assert.deepEqual(await collect(a.heads.keys()), ['heads'], 'the heads space holds the heads only')

    await a.mailbox.clear()
    assert.deepEqual(await collect(a.mailbox.keys()), [])
    assert.equal(new TextDecoder().decode(await a.heads.get('heads')), 'a', 'clear empties one space of the inbox')
    assert.equal((await collect(b.mailbox.keys())).length, 4)

    assert.deepEqual(await collect(store.addresses()), ['/orbitdb/zdpuAbc', '/orbitdb/zdpuAbcd'])
    await store.drop('/orbitdb/zdpuAbc')
    assert.deepEqual(await collect(store.addresses()), ['/orbitdb/zdpuAbcd'])
    assert.equal(await a.heads.get('heads'), undefined)
    assert.equal(new TextDecoder().decode(await b.heads.get('heads')), 'b')
    assert.equal((await collect(b.mailbox.keys())).length, 4, 'the other inbox keeps every key')
    assert.throws(() => store.spaces('/orbitdb/zdpu!x'), /not an inbox address/)
  } finally {
    await store.close()
  }
})

test('200 inboxes open on one node with no new file descriptor; closing them leaves the node\'s store open', async () => {
  const node = await startTestNode()
  nodes.push(node)
  const owners = await Promise.all(Array.from({ length: 201 }, async () => (await createIdentity()).peerId))
  const inboxes: Inbox[] = [await openInbox(node.node.orbitdb, owners[0]!, 0)]
  const fds = (): number => readdirSync('/proc/self/fd').length
  const before = fds()
  for (const owner of owners.slice(1)) inboxes.push(await openInbox(node.node.orbitdb, owner, 0))
  const grown = fds() - before
  // A few for whatever else the process does meanwhile (the former layout took 12 per inbox: 2,400).
  assert.ok(grown <= 10, `${grown} more open file descriptors after opening 200 inboxes`)
  await putMail(inboxes[200]!, await createIdentity(), 'still writes')
  assert.equal((await inboxes[200]!.pending()).length, 1)
  for (const inbox of inboxes) await inbox.close()
  // Closing inboxes leaves the node's store open: an inbox opened again reads its mail.
  const again = await openInbox(node.node.orbitdb, owners[200]!, 0)
  assert.equal((await again.pending()).length, 1)
  await again.close()
})

test('a stock OrbitDB log, given the same storages, reads an inbox IPMS wrote: its heads, every entry, its index', async () => {
  const node = await startTestNode()
  nodes.push(node)
  const owner = await createIdentity()
  const inbox = await openInbox(node.node.orbitdb, owner.peerId, 0)
  const alice = await createIdentity()
  const written: string[] = []
  for (let i = 0; i < 3; i++) written.push((await putMail(inbox, alice, `stock ${i}`)).hash)
  await inbox.close()

  const spaces = nodeStorage(node.node.helia).inboxes!.spaces(inbox.address)
  const log = await Log(node.node.orbitdb.identity, {
    logId: inbox.address,
    entryStorage: await IPFSBlockStorage({ ipfs: node.node.helia, pin: true }),
    headsStorage: await ComposedStorage(await LRUStorage({ size: 10 }), LevelBatchStorage(spaces.heads)),
    indexStorage: await ComposedStorage(await LRUStorage({ size: 10 }), LevelBatchStorage(spaces.index))
  }) as any
  assert.deepEqual((await log.heads()).map((e: { hash: string }) => e.hash), [written[2]])
  assert.deepEqual((await log.values()).map((e: { hash: string }) => e.hash), written)
  for (const hash of written) assert.equal(await log.has(hash), true)
  await log.close()
})

test('an inbox on a Helia that createNode did not make keeps its records in a LevelDB of its own, and reads them back', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ipms-own-store-'))
  dirs.push(dir)
  // No transport, no router, no block broker: nothing reaches the network.
  const libp2p = await createLibp2p({ start: false })
  const helia = await createHelia({ libp2p, blockBrokers: [], routers: [] }) // blocks and pins in memory
  const orbitdb = await createOrbitDB({ ipfs: helia, directory: join(dir, 'orbitdb') })
  try {
    const owner = await createIdentity()
    const inbox = await openInbox(orbitdb, owner.peerId, 0)
    const { hash } = await putMail(inbox, await createIdentity(), 'on another helia')
    await inbox.close()
    const again = await openInbox(orbitdb, owner.peerId, 0)
    assert.deepEqual((await again.pending()).map(m => m.hash), [hash])
    await again.close()
    assert.equal(nodeStorage(helia).inboxes, undefined, 'no inbox store registered for this Helia')
    assert.deepEqual(readdirSync(join(dir, 'orbitdb', inbox.address)), ['_inbox'])
  } finally {
    await orbitdb.stop()
    await helia.stop()
  }
})

test('heads read as absent are not read again until written (a fresh inbox reads them once), and every write and delete is seen', async () => {
  const store = await tempStore()
  const space = store.spaces('/orbitdb/zdpuAbsentHeadsTest').heads
  let reads = 0
  const counted = { ...space, get: async (key: string) => { reads++; return await space.get(key) } }
  const heads = rememberingAbsent(LevelBatchStorage<Uint8Array>(counted))
  const bytes = new TextEncoder().encode('[]')
  assert.equal(await heads.get('heads'), undefined)
  assert.equal(await heads.get('heads'), undefined)
  assert.equal(reads, 1, 'absent: read once')
  await heads.put('heads', bytes)
  const text = async (): Promise<string | undefined> => { const value = await heads.get('heads'); return value === undefined ? undefined : new TextDecoder().decode(value) }
  assert.equal(await text(), '[]', 'a put is seen')
  await heads.del('heads')
  assert.equal(await heads.get('heads'), undefined, 'a delete is seen')
  await heads.putMany([['heads', bytes]])
  assert.equal(await text(), '[]', 'a putMany is seen')
  await heads.clear()
  assert.equal(await heads.get('heads'), undefined, 'a clear is seen')
  await store.close()
})
