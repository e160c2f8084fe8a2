/**
 * A host as a process of its own, for crash tests: `node test/helpers/host-process.ts <home>
 * <seed hex> <port> <owner peer-id> <bits>` keeps the owner's inbox, serves deliveries and sync,
 * prints "READY <multiaddr>" and runs until killed.
 */
import { identityFromSeed } from '../../src/identity/identity.ts'
import { createDeliveryService } from '../../src/node/deliver.ts'
import { servedFrom } from '../../src/node/inbox-lease.ts'
import { createNode } from '../../src/node/create-node.ts'
import { createInboxSync } from '../../src/node/sync.ts'
import { openInbox } from '../../src/stores/orbitdb/open-inbox.ts'

const [home, seedHex, port, owner, bits] = process.argv.slice(2)
const identity = await identityFromSeed(new Uint8Array(Buffer.from(seedHex!, 'hex')))
const node = await createNode({ home: home!, identity, listen: [`/ip4/127.0.0.1/tcp/${port!}`] })
const sync = createInboxSync({ libp2p: node.libp2p })
await sync.start()
const inbox = await openInbox(node.orbitdb, owner!, Number(bits))
await sync.register(inbox)
const delivery = createDeliveryService({ libp2p: node.libp2p, identity, inboxFor: servedFrom([inbox]) })
await delivery.start()
console.log(`READY ${node.multiaddrs()[0]!}`)
