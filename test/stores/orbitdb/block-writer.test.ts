/**
 * The batched block writer against Helia's own put + pins.add (the reference path): the same block
 * bytes and the same pin records, byte for byte, which Helia then reads, unpins and deletes as its own.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { blockWriter, referenceBlockWriter, type BlockToStore } from '../../../src/stores/orbitdb/block-writer.ts'
import { startTestNode, type TestNode } from '../../helpers/nodes.ts'

let batched: TestNode, reference: TestNode
before(async () => { [batched, reference] = await Promise.all([startTestNode(), startTestNode()]) })
after(async () => { await Promise.all([batched.cleanup(), reference.cleanup()]) })

async function block (pin: BlockToStore['pin']): Promise<BlockToStore> {
  const bytes = dagCbor.encode({ r: crypto.randomBytes(32) })
  return { cid: CID.createV1(dagCbor.code, await sha256.digest(bytes)), bytes, pin }
}

/** The datastore's pin records, as hex. */
async function pinRecords (node: TestNode): Promise<Record<string, string>> {
  const records: Record<string, string> = {}
  for await (const { key, value } of node.node.helia.datastore.query({})) {
    const text = key.toString()
    if (text.startsWith('/pin/') || text.startsWith('/pinned-block/')) records[text] = Buffer.from(value).toString('hex')
  }
  return records
}

test('batched blocks and pins are Helia\'s own, byte for byte; writing them again changes nothing', async () => {
  const blocks = await Promise.all([block(0), block('all'), block(0), block('all')])
  const before = await pinRecords(batched)
  const beforeRef = await pinRecords(reference)
  const writer = blockWriter(batched.node.helia)
  await writer.write(blocks)
  await writer.write(blocks.slice(0, 2))
  await referenceBlockWriter(reference.node.helia).write(blocks)
  const added = (records: Record<string, string>, base: Record<string, string>): Record<string, string> =>
    Object.fromEntries(Object.entries(records).filter(([k]) => !(k in base)))
  const ours = added(await pinRecords(batched), before)
  const helias = added(await pinRecords(reference), beforeRef)
  assert.equal(Object.keys(ours).length, blocks.length * 2)
  assert.deepEqual(ours, helias)

  const helia = batched.node.helia
  for (const b of blocks) {
    assert.equal(await helia.pins.isPinned(b.cid), true)
    const chunks: Uint8Array[] = []
    for await (const chunk of helia.blockstore.get(b.cid, { offline: true })) chunks.push(chunk)
    assert.deepEqual(Buffer.concat(chunks), Buffer.from(b.bytes))
  }
  // Helia unpins and deletes what the batch wrote.
  for await (const _ of helia.pins.rm(blocks[0]!.cid)) { /* drain */ }
  assert.equal(await helia.pins.isPinned(blocks[0]!.cid), false)
  await (helia.blockstore as unknown as { unwrap: () => { delete: (cid: CID) => Promise<void> } }).unwrap().delete(blocks[0]!.cid)
  assert.equal(await helia.blockstore.has(blocks[0]!.cid), false)
})
