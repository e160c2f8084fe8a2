import { startReplica } from './helpers/replicas.ts'
import { withFreshSender } from '../src/node/sender.ts'
import { deliverTo } from '../src/node/deliver.ts'
import { createIdentity } from '../src/identity/identity.ts'
import { inboxAddress } from '../src/access/inbox-address.ts'
const owner = await createIdentity()
const host = await startReplica()
await host.inbox(owner.peerId, 8)
const inbox = inboxAddress(owner.peerId, 8)
const t0 = Date.now()
try {
  await withFreshSender(async (libp2p, dial) => {
    await dial(host.node.multiaddrs()[0]!)
    await deliverTo(libp2p, host.node.peerId, { inbox, mail: { op: 'MAIL', v: 1, env: 'x', size: 1, ts: 1, pow: new Uint8Array(8) }, envelope: new Uint8Array(4 * 1024 * 1024 + 32 * 1024) }, { timeoutMs: 8000 })
  })
} catch (err) { console.log('err', (err as any).code, (err as Error).message, Date.now() - t0) }
await host.cleanup()
