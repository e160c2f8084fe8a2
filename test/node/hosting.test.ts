/**
 * Hosting on real nodes: a host accepts an owner's grant, keeps the inbox (deliveries, sync with the
 * owner), keeps it across a restart, and stops serving it when the grant expires. Grants for
 * another host, expired or forged ones are refused with their typed error.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { GrantExpiredError, InvalidRecordError } from '../../src/errors.ts'
import { createCard, encodeCard, type AddressCard } from '../../src/hosting/card.ts'
import { createGrant, encodeGrant } from '../../src/hosting/grant.ts'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { createDeliveryService } from '../../src/node/deliver.ts'
import { openHosting, type Hosting } from '../../src/node/hosting.ts'
import { readInbox } from '../../src/node/read-inbox.ts'
import { sendMail } from '../../src/node/send-mail.ts'
import { createInboxSync, type InboxSync } from '../../src/node/sync.ts'
import type { InboxResolver } from '../../src/node/inbox-lease.ts'
import { startTestNode, type TestNode } from '../helpers/nodes.ts'
import { replicaPool } from '../helpers/replicas.ts'
import { waitFor } from '../helpers/wait.ts'

const BITS = 8
let owner: Identity, alice: Identity, other: Identity
const nodes: Array<{ cleanup: () => Promise<void> }> = []
const replica = replicaPool()
before(async () => { [owner, alice, other] = await Promise.all([createIdentity(), createIdentity(), createIdentity()]) })
after(async () => {
  await replica.stopAll()
  for (const n of nodes.reverse()) await n.cleanup()
})

/** A host node: sync, delivery and hosting wired as a host process does. */
async function startHost (options: { identity?: Identity, home?: string, now?: () => number, maxOpenInboxes?: number } = {}): Promise<TestNode & { hosting: Hosting, sync: InboxSync }> {
  const test = await startTestNode({ identity: options.identity, home: options.home })
  let hosting: Hosting | undefined
  const inboxFor: InboxResolver = address => hosting?.inboxFor(address)
  const sync = createInboxSync({ libp2p: test.node.libp2p, blockstore: test.node.helia.blockstore, grantFor: inbox => hosting?.grantFor(inbox), inboxFor })
  await sync.start()
  const delivery = createDeliveryService({ libp2p: test.node.libp2p, identity: test.identity, inboxFor })
  await delivery.start()
  hosting = await openHosting({ node: test.node, sync, now: options.now, maxOpenInboxes: options.maxOpenInboxes })
  const served = hosting
  const host = { ...test, hosting, sync, cleanup: async () => { await delivery.stop(); await served.close(); await sync.stop(); await test.cleanup() } }
  nodes.push(host)
  return host
}

/** Pending mail in a hosted inbox (opened for the count). */
async function pendingIn (host: { hosting: Hosting }, address: string): Promise<number> {
  const lease = await host.hosting.lease(address)
  assert.ok(lease, `${address} is served`)
  try { return (await lease.inbox.pending()).length } finally { lease.release() }
}

const cardFor = (host: TestNode): AddressCard => createCard(owner, [{ peer: host.node.peerId, addrs: host.node.multiaddrs().map(a => a.replace(/\/p2p\/[^/]+$/, '')) }], BITS)

test('a host keeps an inbox once it accepts the owner\'s grant: deliveries, the owner\'s read, a restart', async () => {
  const identity = await createIdentity()
  let host = await startHost({ identity })
  await assert.rejects(sendMail({ body: 'before the grant' }, { from: alice, card: cardFor(host) }), (err: unknown) => (err as { result?: { failures: Array<{ code: string }> } }).result?.failures[0]?.code === 'ERR_NOT_HOSTED')

  const inbox = await host.hosting.accept(encodeGrant(createGrant(owner, host.node.peerId)), { bits: BITS })
  assert.deepEqual(host.hosting.list().map(h => h.owner), [owner.peerId])
  const sent = await sendMail({ body: 'after the grant' }, { from: alice, card: cardFor(host) })
  assert.equal(sent.receipts[0]!.host, host.node.peerId)
  assert.equal(await pendingIn(host, inbox.address), 1)
  assert.deepEqual(await readdir(join(host.home, 'hosting')), [`${owner.peerId}.json`])

  // Restarted on the same home, it opens the granted inbox again, with its mail.
  const home = host.home
  await host.node.stop()
  host = await startHost({ identity, home })
  assert.deepEqual(host.hosting.skipped, [])
  assert.ok(host.hosting.inboxFor(inbox.address))
  assert.equal(await pendingIn(host, inbox.address), 1)

  // The owner reads from it.
  const me = await replica({ identity: owner })
  const mine = await me.inbox(owner.peerId, BITS)
  const { received } = await readInbox({ node: me.node, sync: me.sync, inbox: mine, identity: owner, replicas: [host.node.multiaddrs()[0]!] })
  assert.deepEqual(received.map(r => r.mail.body), ['after the grant'])
})

test('grants for another host, expired or forged are refused; an expiring grant stops deliveries', async () => {
  let clock = 1_000_000
  const host = await startHost({ now: () => clock })
  await assert.rejects(host.hosting.accept(encodeGrant(createGrant(owner, alice.peerId))), InvalidRecordError)
  await assert.rejects(host.hosting.accept(encodeGrant(createGrant(owner, host.node.peerId, { ttlMs: 10, now: 1 }))), GrantExpiredError)
  await assert.rejects(host.hosting.accept('ipmsgrantz1111'), InvalidRecordError)

  const inbox = await host.hosting.accept(encodeGrant(createGrant(other, host.node.peerId, { ttlMs: 60_000, now: clock })), { bits: BITS })
  assert.equal(host.hosting.inboxFor(inbox.address)?.owner, other.peerId)
  clock += 60_001
  assert.equal(host.hosting.inboxFor(inbox.address), undefined, 'not served once the grant expired')
  assert.equal(host.hosting.grantFor(inbox), undefined)
  assert.deepEqual(host.hosting.list().map(h => [h.owner, h.expired]), [[other.peerId, true]])
})

test('co-hosts from the owner\'s card replicate the inbox: mail delivered to one reaches the other', async () => {
  const [h1, h2] = [await startHost(), await startHost()]
  const entry = (h: TestNode): { peer: string, addrs: string[] } => ({ peer: h.node.peerId, addrs: h.node.multiaddrs().map(a => a.replace(/\/p2p\/[^/]+$/, '')) })
  const card = createCard(owner, [entry(h1), entry(h2)], BITS)
  const cardText = encodeCard(card)
  const inbox1 = await h1.hosting.accept(encodeGrant(createGrant(owner, h1.node.peerId)), { card: cardText })
  const inbox2 = await h2.hosting.accept(encodeGrant(createGrant(owner, h2.node.peerId)), { card: cardText })
  assert.equal(inbox1.bits, BITS, 'the difficulty comes from the card')
  assert.deepEqual((await h2.hosting.syncCoHosts()).map(o => [o.host, o.ok]), [[h1.node.peerId, true]])

  const sent = await sendMail({ body: 'to the first host' }, { from: alice, card })
  assert.equal(sent.receipts[0]!.host, h1.node.peerId)
  // Held open while waiting, as an operation would.
  const lease = (await h2.hosting.lease(inbox2.address))!
  try {
    await waitFor([[lease.inbox.events, 'synced']], async () => (await lease.inbox.pending()).some(m => m.hash === sent.receipts[0]!.entry) && await lease.inbox.hasEnvelope(sent.payload.env), AbortSignal.timeout(10_000))
  } finally {
    lease.release()
  }
})
