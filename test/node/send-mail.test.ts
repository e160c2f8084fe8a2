/**
 * Sending by address card on real nodes: the card's hosts are tried in turn from a fresh identity
 * until enough receipts came; a dead host is skipped; too few receipts is a typed error that keeps
 * the stamped mail.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { NoHostError } from '../../src/errors.ts'
import { createCard, encodeCard } from '../../src/hosting/card.ts'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { openMail } from '../../src/mail/seal.ts'
import { sendMail, type SendResult } from '../../src/node/send-mail.ts'
import { replicaPool, type Replica } from '../helpers/replicas.ts'

const BITS = 8
let owner: Identity, alice: Identity
const replica = replicaPool()
before(async () => { [owner, alice] = await Promise.all([createIdentity(), createIdentity()]) })
after(replica.stopAll)

/** The card entry of a running host: its peer-id and listen addresses without /p2p. */
const cardHost = (r: Replica): { peer: string, addrs: string[] } =>
  ({ peer: r.node.peerId, addrs: r.node.multiaddrs().map(a => a.replace(/\/p2p\/[^/]+$/, '')) })

test('a mail sent by card reaches the first host that answers; a stopped host is skipped; k receipts from distinct hosts', async () => {
  const [dead, h1, h2] = await Promise.all([replica(), replica(), replica()])
  const deadEntry = cardHost(dead)
  await dead.cleanup()
  const inboxes = await Promise.all([h1.inbox(owner.peerId, BITS), h2.inbox(owner.peerId, BITS)])
  const card = encodeCard(createCard(owner, [deadEntry, cardHost(h1), cardHost(h2)], BITS))

  const one = await sendMail({ subject: 'hi', body: 'one receipt' }, { from: alice, card })
  assert.equal(one.receipts.length, 1)
  assert.equal(one.receipts[0]!.host, h1.node.peerId)
  assert.deepEqual(one.failures.map(f => f.host), [dead.node.peerId])
  assert.ok((await inboxes[0].pending()).some(m => m.hash === one.receipts[0]!.entry))

  const two = await sendMail({ subject: 'hi', body: 'two receipts' }, { from: alice, card, replicas: 2 })
  assert.deepEqual(two.receipts.map(r => r.host), [h1.node.peerId, h2.node.peerId])
  const envelope = await inboxes[1].getEnvelope(two.payload.env)
  assert.equal(openMail(envelope!, { identity: owner, inbox: inboxes[1].address }).body, 'two receipts')
})

test('fewer receipts than wanted → NoHostError carrying the stamped mail and each host\'s reason', async () => {
  const h = await replica()
  await h.inbox(owner.peerId, BITS)
  const stranger = await replica() // up, but does not keep the owner's inbox
  const card = createCard(owner, [cardHost(h), cardHost(stranger)], BITS)
  await assert.rejects(sendMail({ body: 'wants two' }, { from: alice, card, replicas: 2 }), (err: unknown) => {
    assert.ok(err instanceof NoHostError)
    assert.equal(err.code, 'ERR_NO_HOST')
    const result = err.result as SendResult
    assert.equal(result.receipts.length, 1)
    assert.deepEqual(result.failures.map(f => f.code), ['ERR_NOT_HOSTED'])
    assert.equal(result.payload.env, result.sealed.cid.toString())
    return true
  })
})
