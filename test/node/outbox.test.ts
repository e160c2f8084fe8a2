/**
 * The outbox on real nodes: a mail is on disk before its first delivery attempt, stays there with
 * the reason while no host gives a receipt, survives a restart of the outbox, and leaves once a
 * retry gets its receipt; the owner then reads it.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { createCard } from '../../src/hosting/card.ts'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { openMail } from '../../src/mail/seal.ts'
import { openOutbox } from '../../src/node/outbox.ts'
import { makeTempHome } from '../helpers/nodes.ts'
import { replicaPool, type Replica } from '../helpers/replicas.ts'

const BITS = 8
let owner: Identity, alice: Identity
let home: string
const replica = replicaPool()
before(async () => {
  [owner, alice] = await Promise.all([createIdentity(), createIdentity()])
  home = await makeTempHome('ipms-outbox-')
})
after(async () => {
  await replica.stopAll()
  await rm(home, { recursive: true, force: true })
})

const cardHost = (r: Replica): { peer: string, addrs: string[] } =>
  ({ peer: r.node.peerId, addrs: r.node.multiaddrs().map(a => a.replace(/\/p2p\/[^/]+$/, '')) })

test('no host takes the mail: it stays in the outbox with why; after a restart a retry delivers it', async () => {
  const host = await replica() // up, but not (yet) keeping the owner's inbox
  const card = createCard(owner, [cardHost(host)], BITS)
  const outbox = openOutbox(home)
  const { entry, delivered } = await outbox.send({ subject: 'later', body: 'kept until a host takes it' }, { from: alice, card })
  assert.equal(delivered, false)
  assert.equal(entry.attempts, 1)
  assert.match(entry.lastError ?? '', /ERR_NOT_HOSTED/)
  assert.ok(entry.nextAttempt > Date.now(), 'the next attempt waits (backoff)')
  assert.deepEqual(await readdir(join(home, 'outbox')), [`${entry.id}.cbor`])

  // Not due yet: a plain retry does nothing.
  assert.deepEqual(await openOutbox(home).retry(), [])

  // The host starts keeping the inbox; the outbox, reopened as after a restart, delivers when due.
  const inbox = await host.inbox(owner.peerId, BITS)
  const reopened = openOutbox(home)
  assert.equal((await reopened.list()).length, 1)
  const sent = await reopened.retry({ now: entry.nextAttempt })
  assert.equal(sent.length, 1)
  assert.equal(sent[0]!.receipts[0]!.host, host.node.peerId)
  assert.deepEqual(await reopened.list(), [])
  const envelope = await inbox.getEnvelope(entry.id)
  assert.equal(openMail(envelope!, { identity: owner, inbox: inbox.address }).body, 'kept until a host takes it')
})

test('a mail delivered at once never lingers; one wanting two receipts keeps the first and asks only the others later', async () => {
  const [h1, h2] = await Promise.all([replica(), replica()])
  await h1.inbox(owner.peerId, BITS)
  const card = createCard(owner, [cardHost(h1), cardHost(h2)], BITS)
  const outbox = openOutbox(home)
  assert.equal((await outbox.send({ body: 'at once' }, { from: alice, card })).delivered, true)
  assert.deepEqual(await outbox.list(), [])

  const { entry, delivered } = await outbox.send({ body: 'two wanted' }, { from: alice, card, replicas: 2 })
  assert.equal(delivered, false)
  assert.deepEqual(entry.receipts.map(r => r.host), [h1.node.peerId])
  await h2.inbox(owner.peerId, BITS)
  const [done] = await outbox.retry({ force: true })
  assert.deepEqual(done!.receipts.map(r => r.host), [h1.node.peerId, h2.node.peerId], 'h1 was not asked twice')
  assert.deepEqual(await outbox.list(), [])
})

test('the next send also retries what is due from an earlier run', async () => {
  const host = await replica()
  const card = createCard(owner, [cardHost(host)], BITS)
  const otherHome = await makeTempHome('ipms-outbox-next-')
  try {
    const first = await openOutbox(otherHome).send({ body: 'left over' }, { from: alice, card })
    assert.equal(first.delivered, false)
    await host.inbox(owner.peerId, BITS)
    // A new run, when the left-over mail is due: the next send delivers both.
    const [waiting] = await openOutbox(otherHome).list()
    const outbox = openOutbox(otherHome, { now: () => waiting!.nextAttempt + 1 }) // its time has come
    const next = await outbox.send({ body: 'new' }, { from: alice, card })
    assert.equal(next.delivered, true)
    assert.deepEqual(await outbox.list(), [])
  } finally {
    await rm(otherHome, { recursive: true, force: true })
  }
})
