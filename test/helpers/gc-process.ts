/**
 * An owner's node as a process of its own, for kill -9 tests of prune and GC:
 * `node test/helpers/gc-process.ts <home> <owner seed hex> <bits> fill <n>` puts n mails in the
 * owner's inbox; `… prune <chunk>` prunes the pending mail, `chunk` entries per PRUNE, until none is
 * left, printing a line before and after each prune (run it with DEBUG=ipms:mailbox to see each
 * GC step on stderr too); `… check` only opens. Each run prints "OPEN <pending>" once the inbox
 * has opened, then "CHECK pruned=<n> leftover=<m>": how many pruned envelopes still have a block
 * or a pin record.
 */
import { CID } from 'multiformats/cid'
import { createIdentity, identityFromSeed } from '../../src/identity/identity.ts'
import { createNode } from '../../src/node/create-node.ts'
import { blockKey, levelStoresOf, pinKey, pinnedBlockKey } from '../../src/stores/orbitdb/block-writer.ts'
import { openInbox, orbitLog } from '../../src/stores/orbitdb/open-inbox.ts'
import { putMail } from './replicas.ts'

const [home, seedHex, bits, mode, count] = process.argv.slice(2)
const owner = await identityFromSeed(new Uint8Array(Buffer.from(seedHex!, 'hex')))
const node = await createNode({ home: home!, identity: owner, listen: ['/ip4/127.0.0.1/tcp/0'] })
const inbox = await openInbox(node.orbitdb, owner.peerId, Number(bits))
console.log(`OPEN ${(await inbox.pending()).length}`)

// Opening finished any GC a kill cut short: no pruned envelope keeps a block or a pin record.
const stores = levelStoresOf(node.helia) as unknown as { blocks: { get: (k: string) => Promise<unknown> }, datastore: { get: (k: string) => Promise<unknown> } }
const pendingEnvs = new Set((await inbox.pending()).map(m => m.env))
let leftover = 0
let pruned = 0
for (const entry of await orbitLog(inbox).values() as Array<{ payload: { op: string, env?: string } }>) {
  if (entry.payload.op !== 'MAIL' || pendingEnvs.has(entry.payload.env!)) continue
  pruned++
  const cid = CID.parse(entry.payload.env!)
  const found = await Promise.all([stores.blocks.get(blockKey(cid)), stores.datastore.get(pinKey(cid)), stores.datastore.get(pinnedBlockKey(cid))])
  if (found.some(v => v !== undefined)) leftover++
}
console.log(`CHECK pruned=${pruned} leftover=${leftover}`)

if (mode === 'fill') {
  const sender = await createIdentity()
  for (let i = 0; i < Number(count); i++) await putMail(inbox, sender, `mail ${i}`)
  console.log('FILLED')
} else if (mode === 'prune') {
  for (let pending = await inbox.pending(); pending.length > 0; pending = await inbox.pending()) {
    console.log('PRUNE')
    await inbox.prune(pending.slice(0, Number(count)).map(m => m.hash), owner.seed)
    console.log('PRUNED')
  }
  console.log('DONE')
}
await inbox.close()
await node.stop()
