/**
 * Hosts records on the private IPMS DHT (docs/PROTOCOL.md §14), on real nodes over 127.0.0.1: what
 * honest DHT nodes store and return, what they refuse (forged, replayed, expired), and senders
 * following an owner who changed hosts.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { createCard, type AddressCard } from '../../src/hosting/card.ts'
import { encodeCbor } from '../../src/crypto/codec.ts'
import { dhtOf, lookupHostsRecord, publishHostsRecord, waitForDhtPeers } from '../../src/discovery/dht.ts'
import { findDestination } from '../../src/discovery/find.ts'
import { checkHostsRecord, createHostsRecordValidator, hostsRecordKey, hostsRecordValue, selectHostsRecord } from '../../src/discovery/hosts-record.ts'
import { connect, startTestNode, type TestNode } from '../helpers/nodes.ts'

const DAY = 86_400_000
let nodes: TestNode[]
let owner: Identity
const hostA = { peer: '', addrs: ['/ip4/127.0.0.1/tcp/4100'] }
const hostB = { peer: '', addrs: ['/ip4/127.0.0.1/tcp/4200'] }

before(async () => {
  // Four DHT servers in a line of acquaintance: 0 ← 1, 2, 3.
  nodes = await Promise.all(Array.from({ length: 4 }, async () => await startTestNode()))
  for (const n of nodes.slice(1)) await connect(n.node, nodes[0]!.node)
  for (const n of nodes) await waitForDhtPeers(n.node.libp2p, AbortSignal.timeout(10_000))
  owner = await createIdentity()
  hostA.peer = (await createIdentity()).peerId
  hostB.peer = (await createIdentity()).peerId
})
after(async () => { await Promise.all(nodes.map(async n => await n.cleanup())) })

/** Put raw bytes under a key from `node`, as an attacker would; returns how many peers stored it. */
async function rawPut (node: TestNode, key: Uint8Array, value: Uint8Array): Promise<number> {
  let stored = 0
  for await (const event of dhtOf(node.node.libp2p).put(key, value, { signal: AbortSignal.timeout(10_000) })) {
    if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') stored++
  }
  return stored
}

test('the record checks: signed by the key in the peer-id, with an expiry, unexpired, at most 90 days; the selector takes the newest', async () => {
  const key = hostsRecordKey(owner.peerId)
  const card = createCard(owner, [hostA], 20, Date.now(), DAY)
  assert.equal(checkHostsRecord(key, hostsRecordValue(card)).ts, card.ts)
  const mallory = await createIdentity()
  assert.throws(() => checkHostsRecord(key, hostsRecordValue(createCard(mallory, [hostA], 20, Date.now(), DAY))), /is .*'s, not/)
  assert.throws(() => checkHostsRecord(key, hostsRecordValue(createCard(owner, [hostA], 20))), /has no expiry/)
  assert.throws(() => checkHostsRecord(key, hostsRecordValue(createCard(owner, [hostA], 20, Date.now() - 2 * DAY, DAY))), /expired/)
  assert.throws(() => checkHostsRecord(key, hostsRecordValue(createCard(owner, [hostA], 20, Date.now(), 91 * DAY))), /longer than 90 days/)
  assert.throws(() => checkHostsRecord(new TextEncoder().encode('/ipns/x'), hostsRecordValue(card)), /not an IPMS hosts-record key/)
  assert.throws(() => checkHostsRecord(key, encodeCbor({ v: 1, owner: owner.peerId })), /malformed|damaged/)
  const older = createCard(owner, [hostA], 20, card.ts - 1000, DAY)
  assert.equal(selectHostsRecord(key, [hostsRecordValue(older), hostsRecordValue(card), new Uint8Array([1, 2])]), 1)
  const validate = createHostsRecordValidator()
  validate(key, hostsRecordValue(card))
  assert.throws(() => { validate(key, hostsRecordValue(older)) }, /older than one this node has seen/)
})

test('publish and look up: the owner\'s card reaches the other DHT nodes; forged, expired and replayed records are refused by every one', async () => {
  const card = createCard(owner, [hostA], 20, Date.now(), DAY)
  const stored = await publishHostsRecord(nodes[1]!.node.libp2p, card, { signal: AbortSignal.timeout(10_000) })
  assert.ok(stored >= 1 && stored <= 3, `stored on ${stored} peers`)
  for (const reader of [nodes[0]!, nodes[2]!, nodes[3]!]) {
    assert.equal((await lookupHostsRecord(reader.node.libp2p, owner.peerId, { signal: AbortSignal.timeout(10_000) }))?.ts, card.ts)
  }
  const key = hostsRecordKey(owner.peerId)
  const mallory = await createIdentity()
  // Forged: Mallory's card under Bob's key, pointing senders at Mallory's host.
  assert.equal(await rawPut(nodes[3]!, key, hostsRecordValue(createCard(mallory, [hostB], 20, Date.now() + 1000, DAY))), 0, "forged")
  // Expired, though signed by the owner.
  assert.equal(await rawPut(nodes[3]!, key, hostsRecordValue(createCard(owner, [hostB], 20, Date.now() - 2 * DAY, DAY))), 0, "expired")
  // Replayed: an older card of the owner's (signed before this one).
  assert.equal(await rawPut(nodes[3]!, key, hostsRecordValue(createCard(owner, [hostB], 20, card.ts - 60_000, DAY))), 0, "replayed")
  // Our own publish refuses to send what honest nodes refuse.
  await assert.rejects(publishHostsRecord(nodes[3]!.node.libp2p, createCard(owner, [hostB], 20), {}), /no expiry/)
  for (const reader of nodes) {
    const found = await lookupHostsRecord(reader.node.libp2p, owner.peerId, { signal: AbortSignal.timeout(10_000) })
    assert.deepEqual(found?.hosts.map(h => h.peer), [hostA.peer], 'every node still answers with the owner\'s real card')
  }
  assert.equal(await lookupHostsRecord(nodes[2]!.node.libp2p, mallory.peerId, { signal: AbortSignal.timeout(10_000) }), undefined)
})

test('the owner changes hosts (a newer card): senders that look up by peer-id switch to the new hosts', async () => {
  const bootstrap = [nodes[2]!.node.multiaddrs()[0]!]
  const first: AddressCard = createCard(owner, [hostA], 20, Date.now() + 5000, DAY)
  await publishHostsRecord(nodes[1]!.node.libp2p, first, { signal: AbortSignal.timeout(10_000) })
  const before = await findDestination(owner.peerId, { bootstrap, signal: AbortSignal.timeout(20_000) })
  assert.equal(before.via, 'dht')
  assert.deepEqual(before.destination.hosts.map(h => h.peer), [hostA.peer])
  assert.equal(before.destination.bits, 20)
  const second = createCard(owner, [hostB], 20, Date.now() + 10_000, DAY)
  await publishHostsRecord(nodes[1]!.node.libp2p, second, { signal: AbortSignal.timeout(10_000) })
  const afterChange = await findDestination(owner.peerId, { bootstrap, signal: AbortSignal.timeout(20_000) })
  assert.deepEqual(afterChange.destination.hosts.map(h => h.peer), [hostB.peer])
  assert.equal(afterChange.card?.ts, second.ts)
})

test('no record but the owner\'s node is on the DHT: deliver to it directly; neither: a clear UnknownRecipientError', async () => {
  const bootstrap = [nodes[2]!.node.multiaddrs()[0]!]
  const direct = await findDestination(nodes[3]!.identity.peerId, { bootstrap, signal: AbortSignal.timeout(20_000) })
  assert.equal(direct.via, 'direct')
  assert.equal(direct.destination.hosts[0]!.peer, nodes[3]!.identity.peerId)
  assert.deepEqual(direct.destination.hosts[0]!.addrs, nodes[3]!.node.multiaddrs().map(a => a.replace(/\/p2p\/.*/, '')))
  const nobody = await createIdentity()
  await assert.rejects(findDestination(nobody.peerId, { bootstrap, signal: AbortSignal.timeout(20_000) }), { code: 'ERR_UNKNOWN_RECIPIENT', message: /has no hosts record on the DHT and its node was not found/ })
  await assert.rejects(findDestination(nobody.peerId, { bootstrap: ['/ip4/127.0.0.1/tcp/9/p2p/' + nobody.peerId] }), { code: 'ERR_UNKNOWN_RECIPIENT', message: /no DHT peer to ask \(bootstrap: / })
})
