/**
 * Looking for a recipient's own node (mail as chat): bounded whatever the DHT does, and an owner
 * not found is not looked for again for a while, so that sends to offline owners do not each wait.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Libp2p } from '@libp2p/interface'
import { createIdentity } from '../../src/identity/identity.ts'
import { ownerReach } from '../../src/discovery/reach-owner.ts'

/** A libp2p whose peer routing answers as `findPeer` says, counting its calls. */
function fakeRouting (self: string, findPeer: (peer: unknown, options: { signal?: AbortSignal }) => Promise<{ multiaddrs: Array<{ toString: () => string }> }>): { libp2p: Libp2p, calls: () => number } {
  let calls = 0
  const libp2p = { peerId: { toString: () => self }, peerRouting: { findPeer: async (peer: unknown, options: { signal?: AbortSignal }) => { calls++; return await findPeer(peer, options) } } } as unknown as Libp2p
  return { libp2p, calls: () => calls }
}

test('a search that never ends is cut at the bound; a missed owner is not searched again until the miss expires', async () => {
  const [me, owner] = await Promise.all([createIdentity(), createIdentity()])
  let clock = 0
  const { libp2p, calls } = fakeRouting(me.peerId, async () => await new Promise(() => {})) // ignores its signal
  const reach = ownerReach(libp2p, { timeoutMs: 50, missMs: 1000, now: () => clock })
  const started = Date.now()
  assert.deepEqual(await reach.reach(owner.peerId), [])
  assert.ok(Date.now() - started < 2000, 'cut at the bound')
  assert.deepEqual(await reach.reach(owner.peerId), [])
  assert.equal(calls(), 1, 'not searched again while the miss is fresh')
  clock = 1001
  assert.deepEqual(await reach.reach(owner.peerId), [])
  assert.equal(calls(), 2)
  assert.deepEqual(await reach.reach(me.peerId), [], 'never itself')
})

test('a found owner is a place to deliver: its TCP addresses without /p2p, each once', async () => {
  const [me, owner] = await Promise.all([createIdentity(), createIdentity()])
  const addrs = [`/ip4/127.0.0.1/tcp/4100/p2p/${owner.peerId}`, '/ip4/127.0.0.1/tcp/4100', '/ip4/127.0.0.1/udp/4100/quic-v1']
  const { libp2p } = fakeRouting(me.peerId, async () => ({ multiaddrs: addrs.map(a => ({ toString: () => a })) }))
  assert.deepEqual(await ownerReach(libp2p).reach(owner.peerId), [{ peer: owner.peerId, addrs: ['/ip4/127.0.0.1/tcp/4100'] }])
  const aborted = new AbortController()
  aborted.abort()
  await assert.rejects(ownerReach(libp2p).reach(owner.peerId, { signal: aborted.signal }), { name: 'AbortError' })
})
