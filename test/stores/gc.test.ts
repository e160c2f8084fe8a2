/**
 * Garbage collection of pruned envelopes on a real node (LevelDB on disk), from half-done states a
 * crash leaves behind (issue #11.1): Helia's `pins.rm` deletes `/pin/` before `/pinned-block/`, so
 * a kill between the two leaves a block that `isPinned` calls pinned but that has no pin record;
 * the other halves (pin record alone, block already deleted) too. Each GC must finish, leave no
 * record, and the inbox must reopen.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { CID } from 'multiformats/cid'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { blockKey, levelStoresOf, pinKey, pinnedBlockKey } from '../../src/stores/orbitdb/block-writer.ts'
import { openInbox } from '../../src/stores/orbitdb/open-inbox.ts'
import { startTestNode, type TestNode } from '../helpers/nodes.ts'
import { putMail } from '../helpers/replicas.ts'

const BITS = 8
let owner: Identity, sender: Identity
let test_: TestNode
before(async () => {
  [owner, sender] = await Promise.all([createIdentity(), createIdentity()])
  test_ = await startTestNode({ identity: owner })
})
after(async () => { await test_.cleanup() })

/** The node's two LevelDBs, with reads (the records as Helia keeps them). */
function stores (): { blocks: any, datastore: any } {
  const s = levelStoresOf(test_.node.helia) as unknown as { blocks: any, datastore: any } | undefined
  assert.ok(s, 'createNode registers its LevelDB stores')
  return s
}

async function records (env: string): Promise<{ block: boolean, pin: boolean, pinnedBlock: boolean }> {
  const cid = CID.parse(env)
  const { blocks, datastore } = stores()
  const [block, pin, pinnedBlock] = await Promise.all([blocks.get(blockKey(cid)), datastore.get(pinKey(cid)), datastore.get(pinnedBlockKey(cid))])
  return { block: block !== undefined, pin: pin !== undefined, pinnedBlock: pinnedBlock !== undefined }
}

test('GC finishes from every half-done state a crash leaves (pin record gone, pinned-block gone, block gone); the inbox reopens', async () => {
  const node = test_.node
  let inbox = await openInbox(node.orbitdb, owner.peerId, BITS)
  const helias = await putMail(inbox, sender, 'Helia\'s half-done pins.rm: /pin/ gone, /pinned-block/ left')
  const pinOnly = await putMail(inbox, sender, 'the other half: /pinned-block/ gone, /pin/ left')
  const noBlock = await putMail(inbox, sender, 'records left, block already deleted')
  const kept = await putMail(inbox, sender, 'not pruned')
  for (const mail of [helias, pinOnly, noBlock, kept]) assert.deepEqual(await records(mail.env), { block: true, pin: true, pinnedBlock: true })

  const { blocks, datastore } = stores()
  await datastore.del(pinKey(CID.parse(helias.env)))
  await datastore.del(pinnedBlockKey(CID.parse(pinOnly.env)))
  await blocks.del(blockKey(CID.parse(noBlock.env)))
  assert.equal(await node.helia.pins.isPinned(CID.parse(helias.env)), true, 'Helia still calls it pinned')

  const errors: unknown[] = []
  inbox.events.on('gc-error', err => errors.push(err))
  await inbox.prune([helias.hash, pinOnly.hash, noBlock.hash], owner.seed)
  assert.deepEqual(errors, [])
  for (const mail of [helias, pinOnly, noBlock]) {
    assert.deepEqual(await records(mail.env), { block: false, pin: false, pinnedBlock: false }, mail.env)
    assert.equal(await node.helia.pins.isPinned(CID.parse(mail.env)), false)
    assert.equal(await inbox.hasEnvelope(mail.env), false)
  }
  assert.deepEqual(await records(kept.env), { block: true, pin: true, pinnedBlock: true }, 'the pending mail keeps its block')
  assert.deepEqual((await inbox.pending()).map(m => m.hash), [kept.hash])

  await inbox.close()
  inbox = await openInbox(node.orbitdb, owner.peerId, BITS)
  assert.deepEqual((await inbox.pending()).map(m => m.hash), [kept.hash])
  assert.ok(await inbox.getEnvelope(kept.env))
  await inbox.prune([kept.hash], owner.seed)
  assert.deepEqual(await records(kept.env), { block: false, pin: false, pinnedBlock: false })
  await inbox.close()
})
