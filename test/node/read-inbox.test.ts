/**
 * The owner's read path on real nodes: sync from a host by its multiaddr, open, store durably,
 * quarantine what does not open, prune; the host drops the envelopes.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { sealEnvelope } from '../../src/crypto/envelope.ts'
import { powChallenge, solvePowSync } from '../../src/crypto/pow/index.ts'
import { NoReplicaError } from '../../src/errors.ts'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { signMail } from '../../src/mail/mail.ts'
import { openMailStore } from '../../src/mail/mail-store.ts'
import { envelopeCid } from '../../src/mail/seal.ts'
import { readInbox } from '../../src/node/read-inbox.ts'
import type { Inbox } from '../../src/stores/orbitdb/open-inbox.ts'
import { putMail, replicaPool } from '../helpers/replicas.ts'

const BITS = 8
let owner: Identity, alice: Identity, carol: Identity
const replica = replicaPool()
before(async () => { [owner, alice, carol] = await Promise.all([createIdentity(), createIdentity(), createIdentity()]) })
after(replica.stopAll)


/** A mail alice signed for carol, re-sealed to the owner: it decrypts but is misaddressed. */
async function putForwardedMail (inbox: Inbox): Promise<string> {
  const mail = signMail({ v: 1, from: alice.peerId, to: carol.peerId, date: Date.now(), id: 'fwd', subject: 'not for you', body: 'x', attachments: [] }, alice.seed)
  const envelope = sealEnvelope(dagCbor.encode(mail), owner.publicKey, inbox.address)
  const cid = await envelopeCid(envelope)
  const ts = Date.now()
  const pow = solvePowSync(powChallenge({ bits: BITS, ts, inbox: inbox.address, envelopeCid: cid }), BITS)
  await inbox.putEnvelope(cid.toString(), envelope)
  return await inbox.add({ op: 'MAIL', v: 1, env: cid.toString(), size: envelope.byteLength, ts, pow })
}

test('read: sync from the host, store every mail durably, quarantine what does not open, prune', async () => {
  const host = await replica()
  const hostInbox = await host.inbox(owner.peerId, BITS)
  await putMail(hostInbox, alice, 'first')
  await putMail(hostInbox, carol, 'second')
  const forwarded = await putForwardedMail(hostInbox)

  const me = await replica({ identity: owner })
  const myInbox = await me.inbox(owner.peerId, BITS)
  const hostGone = new Promise<void>(resolve => {
    hostInbox.events.on('pruned', () => { void hostInbox.pending().then(p => { if (p.length === 0) resolve() }) })
  })
  const result = await readInbox({ node: me.node, sync: me.sync, inbox: myInbox, identity: owner, replicas: [host.node.multiaddrs()[0]!] })
  assert.deepEqual(result.replicas.map(r => r.ok), [true])
  assert.deepEqual(result.received.map(r => r.mail.body).sort(), ['first', 'second'])
  assert.deepEqual(result.received.map(r => r.mail.from).sort(), [alice.peerId, carol.peerId].sort())
  assert.equal(result.quarantined.length, 1)
  assert.equal(result.quarantined[0]!.entry, forwarded)
  assert.equal(result.quarantined[0]!.code, 'ERR_MISADDRESSED')
  assert.equal(result.pruned, 3)
  assert.equal(result.waiting, 0)

  // On disk in the owner's home, one file per mail, and the quarantined envelope kept whole.
  const store = openMailStore(me.home)
  assert.equal((await store.received()).length, 2)
  assert.equal((await readdir(join(me.home, 'mail', 'received'))).length, 2)
  const [kept] = await store.quarantined()
  assert.ok(kept!.envelope.byteLength > 1000)

  // The prune reached the host: nothing pending there, envelopes deleted.
  await Promise.race([hostGone, new Promise((_resolve, reject) => AbortSignal.timeout(10_000).addEventListener('abort', () => reject(new Error('host did not prune'))))])
  assert.deepEqual(await myInbox.pending(), [])

  // A second read finds nothing new.
  const again = await readInbox({ node: me.node, sync: me.sync, inbox: myInbox, identity: owner, replicas: [host.node.peerId] })
  assert.equal(again.received.length, 0)
  assert.equal(again.pruned, 0)
})

test('read with prune off leaves the mail on the host; a later read stores it once and prunes', async () => {
  const host = await replica()
  const hostInbox = await host.inbox(owner.peerId, BITS)
  await putMail(hostInbox, alice, 'kept on the host')
  const me = await replica({ identity: owner })
  const myInbox = await me.inbox(owner.peerId, BITS)
  const first = await readInbox({ node: me.node, sync: me.sync, inbox: myInbox, identity: owner, replicas: [host.node.multiaddrs()[0]!], prune: false })
  assert.equal(first.received.length, 1)
  assert.equal(first.pruned, 0)
  assert.equal((await hostInbox.pending()).length, 1)
  // As after a crash between storing and pruning: the next read stores the same file again and prunes.
  const second = await readInbox({ node: me.node, sync: me.sync, inbox: myInbox, identity: owner, replicas: [host.node.peerId] })
  assert.equal(second.pruned, 1)
  assert.equal((await openMailStore(me.home).received()).length, 1)
})

test('no replica reachable → NoReplicaError naming each replica; nothing is pruned', async () => {
  const gone = await replica()
  const address = gone.node.multiaddrs()[0]!
  await gone.cleanup()
  const me = await replica({ identity: owner })
  const myInbox = await me.inbox(owner.peerId, BITS)
  await assert.rejects(readInbox({ node: me.node, sync: me.sync, inbox: myInbox, identity: owner, replicas: [address], signal: AbortSignal.timeout(10_000) }), (err: unknown) => {
    assert.ok(err instanceof NoReplicaError)
    assert.equal(err.code, 'ERR_NO_REPLICA')
    assert.ok(err.message.includes(address))
    return true
  })
})

test('a read interrupted half-way (Ctrl-C) loses nothing and prunes nothing; the next read stores the rest, each mail once', async () => {
  const host = await replica()
  const hostInbox = await host.inbox(owner.peerId, BITS)
  const bodies = Array.from({ length: 40 }, (_, i) => `mail ${i}`)
  for (const body of bodies) await putMail(hostInbox, alice, body)
  const me = await replica({ identity: owner })
  const myInbox = await me.inbox(owner.peerId, BITS)
  const interrupt = new AbortController()
  await assert.rejects(readInbox({
    node: me.node,
    sync: me.sync,
    inbox: myInbox,
    identity: owner,
    replicas: [host.node.multiaddrs()[0]!],
    signal: interrupt.signal,
    onProgress: handled => { if (handled >= 5) interrupt.abort(new Error('Interrupted')) }
  }))
  const partly = await openMailStore(me.home).received()
  assert.ok(partly.length >= 5 && partly.length < bodies.length, `${partly.length} stored before the interruption`)
  assert.equal((await myInbox.pending()).length, bodies.length, 'nothing was pruned')
  assert.equal((await hostInbox.pending()).length, bodies.length, 'the host still holds every mail')

  const rest = await readInbox({ node: me.node, sync: me.sync, inbox: myInbox, identity: owner, replicas: [host.node.multiaddrs()[0]!] })
  assert.equal(rest.pruned, bodies.length)
  const stored = await openMailStore(me.home).received()
  assert.deepEqual(stored.map(s => s.mail.body).sort(), [...bodies].sort(), 'every mail stored, none twice')
  const maildir = await readdir(join(me.home, 'Maildir', 'new'))
  assert.equal(maildir.length, bodies.length, 'one Maildir message per mail, none twice')
  assert.equal((await myInbox.pending()).length, 0)
})
