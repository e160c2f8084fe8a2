/**
 * The inbox's manifest and access-controller blocks (stores/orbitdb/open-inbox.ts writes them itself, then
 * opens by address): byte for byte what OrbitDB writes when it opens the inbox by name with the
 * `ipms-inbox` controller, at the address `inboxAddress` computes; pinned as OrbitDB pins them.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { InboxAccessController } from '../../../src/stores/orbitdb/inbox-access-controller.ts'
import { accessBlock, inboxAddress, inboxName, inboxParams, manifestBlock } from '../../../src/access/inbox-address.ts'
import { createIdentity } from '../../../src/identity/identity.ts'
import { Mailbox } from '../../../src/stores/orbitdb/mailbox.ts'
import { openInbox } from '../../../src/stores/orbitdb/open-inbox.ts'
import { startTestNode, type TestNode } from '../../helpers/nodes.ts'
import { putMail } from '../../helpers/replicas.ts'

const nodes: TestNode[] = []
after(async () => { for (const n of nodes) await n.cleanup() })

test('an inbox\'s first write carries the manifest and controller blocks OrbitDB itself writes for the inbox opened by name, pinned, at the computed address; an opening alone writes nothing', async () => {
  const [ours, stock] = [await startTestNode(), await startTestNode()]
  nodes.push(ours, stock)
  const owner = (await createIdentity()).peerId
  const params = inboxParams(owner, 12)
  const inbox = await openInbox(ours.node.orbitdb, owner, 12)
  const manifestCid = CID.parse(manifestBlock(params).hash, base58btc)
  assert.equal(await ours.node.helia.blockstore.has(manifestCid), false, 'nothing written by an opening')
  await putMail(inbox, await createIdentity(), 'the first write')
  // OrbitDB's own way, on another node: by name, the controller given.
  const db = await stock.node.orbitdb.open(inboxName(owner), { type: Mailbox.type, AccessController: InboxAccessController({ owner, bits: 12 }), Database: Mailbox(), sync: false })
  try {
    assert.equal(inbox.address, inboxAddress(owner, 12))
    assert.equal(db.address, inbox.address)
    for (const block of [accessBlock(params), manifestBlock(params)]) {
      const cid = CID.parse(block.hash, base58btc)
      const bytes = async (n: TestNode): Promise<Uint8Array> => { const chunks: Uint8Array[] = []; for await (const c of n.node.helia.blockstore.get(cid) as AsyncIterable<Uint8Array>) chunks.push(c); return Buffer.concat(chunks) }
      assert.deepEqual(await bytes(ours), await bytes(stock))
      assert.deepEqual(await bytes(ours), Buffer.from(block.bytes))
      assert.equal(await ours.node.helia.pins.isPinned(cid), true)
      assert.equal(await stock.node.helia.pins.isPinned(cid), true)
    }
  } finally {
    await inbox.close()
    await db.close()
  }
  // Opened again (by address, blocks present): the same inbox.
  const again = await openInbox(ours.node.orbitdb, owner, 12)
  assert.equal(again.address, inboxAddress(owner, 12))
  await again.close()
})

test('one instance per inbox and node, as OrbitDB\'s open gives; the node\'s stop closes it, and it opens again with its mail', async () => {
  const n = await startTestNode()
  nodes.push(n)
  const owner = (await createIdentity()).peerId
  const [a, b] = await Promise.all([openInbox(n.node.orbitdb, owner, 0), openInbox(n.node.orbitdb, owner, 0)])
  assert.equal(a, b, 'one writer of the inbox\'s heads')
  const alice = await createIdentity()
  const written = (await Promise.all(Array.from({ length: 5 }, async (_, i) => await putMail(a, alice, `before the stop ${i}`)))).map(m => m.hash)
  await n.node.stop()
  // Started again on the same home: every mail is there, and a fresh instance opens.
  const again = await startTestNode({ home: n.home, identity: n.identity })
  nodes.unshift(again) // stopped before the first node's cleanup removes the home
  const reopened = await openInbox(again.node.orbitdb, owner, 0)
  assert.notEqual(reopened, a)
  assert.deepEqual((await reopened.pending()).map(m => m.hash).sort(), [...written].sort())
  const closedOnce = await openInbox(again.node.orbitdb, owner, 0)
  await closedOnce.close()
  assert.notEqual(await openInbox(again.node.orbitdb, owner, 0), closedOnce, 'a closed inbox opens as a new instance')
})
