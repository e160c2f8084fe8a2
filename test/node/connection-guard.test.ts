/**
 * Connection limits of a host on the open internet (PROTOCOL §12.2), on real nodes over loopback:
 * floods of idle fresh-identity connections from many source addresses (127.1.x.y) and silent
 * sockets that never finish a handshake, while honest senders (127.0.0.1) keep getting receipts;
 * idle strangers closed, protected peers kept.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { deliverTo } from '../../src/node/deliver.ts'
import { withFreshSender } from '../../src/node/sender.ts'
import { floodAddress, idleConnections, silentSockets } from '../helpers/flood.ts'
import { connect, startTestNode } from '../helpers/nodes.ts'
import { replicaPool, type Replica } from '../helpers/replicas.ts'
import { waitFor } from '../helpers/wait.ts'
import { stampedMail } from '../helpers/inbox.ts'

const BITS = 4
let owner: Identity, alice: Identity
const replica = replicaPool()
before(async () => { [owner, alice] = await Promise.all([createIdentity(), createIdentity()]) })
after(replica.stopAll)

const stamped = async (body: string): ReturnType<typeof stampedMail> => await stampedMail(alice, owner.peerId, BITS, body)

/** `count` honest deliveries, each from a fresh identity on 127.0.0.1, one after another: how many got a receipt. */
async function honest (host: Replica, count: number): Promise<number> {
  let receipts = 0
  for (let i = 0; i < count; i++) {
    const request = await stamped(`honest ${i}`)
    await withFreshSender(async (libp2p, dial) => {
      await dial(host.node.multiaddrs()[0]!, AbortSignal.timeout(10_000))
      await deliverTo(libp2p, host.node.peerId, request, { timeoutMs: 10_000 })
      receipts++
    }).catch(() => {})
  }
  return receipts
}

test('300 idle connections of fresh identities from 30 addresses: honest senders still get every receipt', { timeout: 120_000 }, async () => {
  const host = await replica()
  await host.inbox(owner.peerId, BITS)
  const flood = await idleConnections(host.node.multiaddrs()[0]!, 300, i => floodAddress(i, 30, 15))
  try {
    assert.ok(flood.open() >= 290, `the flood holds ${flood.open()} connections`)
    assert.equal(await honest(host, 10), 10)
  } finally {
    await flood.stop()
  }
})

test('past the cap, the stranger idle the longest makes room for a newcomer; a protected peer always finds room', { timeout: 120_000 }, async () => {
  const host = await replica({ connections: { maxConnections: 48, reservedConnections: 8, evictAfterMs: 500 } })
  await host.inbox(owner.peerId, BITS)
  const flood = await idleConnections(host.node.multiaddrs()[0]!, 60, i => floodAddress(i, 12, 16))
  try {
    const strangers = (): number => host.node.libp2p.getConnections().filter(c => c.direction === 'inbound' && c.status === 'open').length
    assert.ok(strangers() <= 40, `${strangers()} strangers' connections are open, the cap is 40`)
    assert.equal(await honest(host, 5), 5)
    // The owner's node, protected on the host, connects even when strangers fill the cap.
    const me = await startTestNode({ identity: owner })
    try {
      await host.node.protect(owner.peerId)
      await connect(me.node, host.node, { signal: AbortSignal.timeout(10_000) })
      assert.ok(host.node.libp2p.getConnections().some(c => c.remotePeer.toString() === owner.peerId))
    } finally {
      await me.cleanup()
    }
  } finally {
    await flood.stop()
  }
})

test('idle strangers are closed after the idle timeout; a protected peer\'s idle connection stays', { timeout: 60_000 }, async () => {
  const host = await replica({ connections: { idleTimeoutMs: 1_500 } })
  const friend = await startTestNode()
  try {
    await host.node.protect(friend.node.peerId)
    await connect(friend.node, host.node)
    const flood = await idleConnections(host.node.multiaddrs()[0]!, 5, i => floodAddress(i, 5, 16))
    try {
      const fromFlood = (): number => host.node.libp2p.getConnections().filter(c => c.remoteAddr.toString().startsWith('/ip4/127.1.')).length
      assert.equal(flood.open(), 5)
      await waitFor([[host.node.libp2p, 'connection:open'], [host.node.libp2p, 'connection:close']], () => fromFlood() === 0, AbortSignal.timeout(20_000))
      assert.ok(host.node.libp2p.getConnections().some(c => c.remotePeer.toString() === friend.node.peerId), 'the protected peer is still connected')
    } finally {
      await flood.stop()
    }
  } finally {
    await friend.cleanup()
  }
})

test('20 silent sockets from one address that never finish a handshake: honest senders still get every receipt', { timeout: 60_000 }, async () => {
  const host = await replica()
  await host.inbox(owner.peerId, BITS)
  const port = Number(host.node.multiaddrs()[0]!.split('/tcp/')[1]!.split('/')[0])
  const silent = await silentSockets('127.0.0.1', port, 20, '127.2.0.1')
  try {
    assert.equal(await honest(host, 5), 5)
  } finally {
    silent.stop()
  }
})
