/**
 * An owner as a process of its own, for crash tests: `node test/helpers/owner-process.ts <home>
 * <seed hex> <bits> <host multiaddr>…` reads its inbox from the hosts again and again (sync,
 * store, prune: readInbox), prints "READY" once its node runs and "READ <n>" after each read that
 * stored n mails, and runs until killed. A read that fails (a host down) is tried again.
 */
import { identityFromSeed } from '../../src/identity/identity.ts'
import { createNode } from '../../src/node/create-node.ts'
import { readInbox } from '../../src/node/read-inbox.ts'
import { createInboxSync } from '../../src/node/sync.ts'
import { openInbox } from '../../src/stores/orbitdb/open-inbox.ts'

const [home, seedHex, bits, ...hosts] = process.argv.slice(2)
const identity = await identityFromSeed(new Uint8Array(Buffer.from(seedHex!, 'hex')))
const node = await createNode({ home: home!, identity })
const sync = createInboxSync({ libp2p: node.libp2p })
await sync.start()
const inbox = await openInbox(node.orbitdb, identity.peerId, Number(bits))
await sync.register(inbox)
console.log('READY')
for (;;) {
  // One host at a time: a host that is down fails its part only.
  for (const host of hosts) {
    try {
      const { received } = await readInbox({ node, sync, inbox, identity, replicas: [host], signal: AbortSignal.timeout(20_000) })
      console.log(`READ ${received.length}`)
    } catch (err) {
      console.log(`FAILED ${(err as Error).message.slice(0, 200)}`)
    }
  }
  // Paced by the hosts' answers, plus a little: the test kills this process at any point.
  await new Promise(resolve => setTimeout(resolve, 200))
}
