/**
 * What a host keeps, on real nodes on 127.0.0.1 (issue #10, items 2, 4 and 5): a stamp buys one
 * entry however often it is delivered (replays get the first receipt, across a restart); a prune
 * removes a mail from every co-host, whichever entry each one holds; a granted host that pushes
 * envelope-less entries claiming the whole quota neither blocks honest senders nor keeps the
 * owner's inbox pending for ever.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { ENVELOPE_WAIT_MS } from '../../src/constants.ts'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { deliverTo, type Receipt } from '../../src/node/deliver.ts'
import { readInbox } from '../../src/node/read-inbox.ts'
import { withFreshSender } from '../../src/node/sender.ts'
import type { Inbox } from '../../src/stores/orbitdb/open-inbox.ts'
import { mailPayload } from '../helpers/inbox.ts'
import { connect, makeTempHome } from '../helpers/nodes.ts'
import { replicaPool, stampedMail, type Replica } from '../helpers/replicas.ts'
import { waitFor } from '../helpers/wait.ts'
import { orbitLog } from '../../src/stores/orbitdb/open-inbox.ts'

const BITS = 8
const MiB = 1024 * 1024
const replica = replicaPool()
const homes: string[] = []
let owner: Identity, alice: Identity
before(async () => { [owner, alice] = await Promise.all([createIdentity(), createIdentity()]) })
after(async () => {
  await replica.stopAll()
  await Promise.all(homes.map(async h => await rm(h, { recursive: true, force: true })))
})

type Request = Awaited<ReturnType<typeof stampedMail>>

/** Deliver `request` `times` times on one fresh sender connection, `parallel` at once after the first. */
async function deliverMany (host: Replica, request: Request, times: number, parallel: number): Promise<Receipt[]> {
  return await withFreshSender(async (libp2p, dial) => {
    await dial(host.node.multiaddrs()[0]!)
    // The first alone: a muxer resets a connection that opens many streams before it is set up.
    const receipts = [await deliverTo(libp2p, host.node.peerId, request)]
    while (receipts.length < times) {
      const n = Math.min(parallel, times - receipts.length)
      receipts.push(...await Promise.all(Array.from({ length: n }, async () => await deliverTo(libp2p, host.node.peerId, request))))
    }
    return receipts
  })
}

const mailEntries = async (inbox: Inbox): Promise<number> =>
  ((await orbitLog(inbox).values()) as Array<{ payload: { op: string } }>).filter(e => e.payload.op === 'MAIL').length

test('one stamp buys one entry: 300 deliveries of one mail from 5 connections give one entry and one receipt, again after a restart', async () => {
  const hostIdentity = await createIdentity()
  const home = await makeTempHome('ipms-replay-host-')
  homes.push(home)
  // Five senders dial at once from one address: more handshakes at a time than a host allows one
  // address by default (connection-guard.ts), which is not what this test is about.
  const connections = { maxPendingPerAddress: 16 }
  let host = await replica({ identity: hostIdentity, home, connections })
  let inbox = await host.inbox(owner.peerId, BITS)
  const request = await stampedMail(alice, owner.peerId, BITS, 'delivered three hundred times')

  // 5 connections × 60 deliveries (the per-connection rate), 8 in flight at once on each: identical
  // deliveries arrive in the same group commit too.
  const receipts = (await Promise.all(Array.from({ length: 5 }, async () => await deliverMany(host, request, 60, 8)))).flat()
  assert.equal(receipts.length, 300)
  for (const receipt of receipts) assert.deepEqual(receipt, receipts[0], 'every receipt is the first one, signature included')
  assert.equal(await mailEntries(inbox), 1, 'one log entry')
  assert.deepEqual((await inbox.pending()).map(m => m.hash), [receipts[0]!.entry])

  // The host restarts on its home: a replay still gets the same receipt, and appends nothing.
  await host.cleanup()
  host = await replica({ identity: hostIdentity, home, connections })
  inbox = await host.inbox(owner.peerId, BITS)
  const again = await deliverMany(host, request, 5, 5)
  for (const receipt of again) assert.deepEqual(receipt, receipts[0])
  assert.equal(await mailEntries(inbox), 1)

  // Once the owner has read and pruned it, a replay is still answered with that receipt and does
  // not bring the mail back.
  const me = await replica({ identity: owner })
  const myInbox = await me.inbox(owner.peerId, BITS)
  const read = await readInbox({ node: me.node, sync: me.sync, inbox: myInbox, identity: owner, replicas: [host.node.multiaddrs()[0]!] })
  assert.equal(read.received.length, 1)
  await waitFor([[inbox.events, 'pruned']], async () => (await inbox.pending()).length === 0, AbortSignal.timeout(20_000))
  assert.deepEqual(await deliverMany(host, request, 1, 1), [receipts[0]])
  assert.deepEqual(await inbox.pending(), [])
  assert.equal(await mailEntries(inbox), 1)
})

test('a prune removes the mail from every co-host, whichever entry each holds; a second owner device reads nothing again', async () => {
  const [a, b] = await Promise.all([replica({ grantsFrom: [owner] }), replica({ grantsFrom: [owner] })])
  const [inboxA, inboxB] = await Promise.all([a.inbox(owner.peerId, BITS), b.inbox(owner.peerId, BITS)])
  // replicas: 2, the hosts not yet in touch: each appends its own entry for the one envelope.
  const request = await stampedMail(alice, owner.peerId, BITS, 'kept by two hosts')
  const [[receiptA], [receiptB]] = await Promise.all([deliverMany(a, request, 1, 1), deliverMany(b, request, 1, 1)])
  assert.notEqual(receiptA!.entry, receiptB!.entry)
  await connect(a.node, b.node)
  await a.sync.syncWith(b.node.peerId, inboxA)
  // The responder joins what the session brought once it has ended.
  await waitFor([[inboxB.events, 'synced']], async () => await mailEntries(inboxB) === 2, AbortSignal.timeout(20_000))
  assert.equal(await mailEntries(inboxA), 2)

  // The owner reads from A alone and prunes the entry it saw; the prune reaches B through A.
  const me = await replica({ identity: owner })
  const myInbox = await me.inbox(owner.peerId, BITS)
  const read = await readInbox({ node: me.node, sync: me.sync, inbox: myInbox, identity: owner, replicas: [a.node.multiaddrs()[0]!] })
  assert.deepEqual(read.received.map(r => r.mail.body), ['kept by two hosts'])
  for (const inbox of [inboxA, inboxB]) {
    await waitFor([[inbox.events, 'pruned'], [inbox.events, 'update']], async () =>
      (await inbox.pending()).length === 0 && !await inbox.hasEnvelope(request.mail.env), AbortSignal.timeout(20_000))
  }

  // Another device of the owner, on a fresh home, reads both hosts: nothing is new.
  const other = await replica({ identity: owner })
  const otherInbox = await other.inbox(owner.peerId, BITS)
  const second = await readInbox({ node: other.node, sync: other.sync, inbox: otherInbox, identity: owner, replicas: [b.node.multiaddrs()[0]!, a.node.multiaddrs()[0]!] })
  assert.deepEqual(second.received, [])
  assert.deepEqual(await otherInbox.pending(), [])
})

test('a granted host pushing 64 envelope-less entries of 4 MiB at ts 2^53-2 blocks no sender, and the owner prunes them after the wait', async () => {
  const [host, attacker] = await Promise.all([replica({ grantsFrom: [owner] }), replica({ grantsFrom: [owner] })])
  const hostInbox = await host.inbox(owner.peerId, BITS)
  const bad = await attacker.inbox(owner.peerId, BITS)
  for (let i = 0; i < 64; i++) await bad.add(mailPayload(bad.address, BITS, { size: 4 * MiB, ts: 2 ** 53 - 2 }))
  await connect(attacker.node, host.node)
  await attacker.sync.syncWith(host.node.peerId, bad)
  await waitFor([[hostInbox.events, 'synced']], async () => (await hostInbox.pending()).length === 64, AbortSignal.timeout(20_000))
  assert.equal(await hostInbox.pendingBytes(), 0, 'no envelope is held: nothing counts toward the quota')
  await attacker.cleanup()

  // An honest sender still gets a receipt (the 256 MiB default quota is not "full").
  const honest = await stampedMail(alice, owner.peerId, BITS, 'an honest mail after the flood')
  const [receipt] = await deliverMany(host, honest, 1, 1)
  assert.equal(receipt!.env, honest.mail.env)

  // The owner reads: the 64 wait for their envelopes, until ENVELOPE_WAIT_MS after it first saw them.
  const me = await replica({ identity: owner })
  const myInbox = await me.inbox(owner.peerId, BITS)
  const replicas = [host.node.multiaddrs()[0]!]
  const first = await readInbox({ node: me.node, sync: me.sync, inbox: myInbox, identity: owner, replicas })
  assert.deepEqual(first.received.map(r => r.mail.body), ['an honest mail after the flood'])
  assert.equal(first.waiting, 64)
  assert.equal(first.abandoned, 0)
  const later = await readInbox({ node: me.node, sync: me.sync, inbox: myInbox, identity: owner, replicas, now: () => Date.now() + ENVELOPE_WAIT_MS + 60_000 })
  assert.equal(later.abandoned, 64)
  assert.equal(later.waiting, 0)
  assert.deepEqual(await myInbox.pending(), [])
  await waitFor([[hostInbox.events, 'update']], async () => (await hostInbox.pending()).length === 0, AbortSignal.timeout(20_000))
})
