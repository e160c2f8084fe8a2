/**
 * Contacts' passes at delivery, on real nodes (docs/PROTOCOL.md §11.3): strangers fill an inbox's
 * quota, a contact with the owner's pass still gets receipts up to the pass's own share; a pass of
 * another owner, an expired or a forged one is refused with its code; a host restart keeps the
 * accounting, and the owner's prune releases it. The mail goes through the library's own send path
 * (prepareMail, deliverPrepared), pass included.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { inboxAddress } from '../../src/access/inbox-address.ts'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { createPass, passBytes, passIdText, type Pass } from '../../src/hosting/pass.ts'
import { encodeRecord, signRecord } from '../../src/hosting/signed-record.ts'
import { quotaDecision, requestPass, type Refusal } from '../../src/node/pass-quota.ts'
import { deliverPrepared, prepareMail, type Destination } from '../../src/node/send-mail.ts'
import { assertProblem } from '../helpers/inbox.ts'
import { makeTempHome } from '../helpers/nodes.ts'
import { replicaPool, startReplica, type Replica } from '../helpers/replicas.ts'
import { waitFor } from '../helpers/wait.ts'

const BITS = 8
/** A short mail's envelope (the 1 KiB bucket). */
const SIZE = 1120
let owner: Identity, alice: Identity, stranger: Identity, other: Identity
const replica = replicaPool()
before(async () => { [owner, alice, stranger, other] = await Promise.all([createIdentity(), createIdentity(), createIdentity(), createIdentity()]) })
after(replica.stopAll)

/** Seal, stamp and deliver one short mail to `host` from `from`, showing `pass` (bytes) if given: 'receipt' or the refusal code. */
async function deliver (host: Replica, from: Identity, pass?: Pass | Uint8Array): Promise<string> {
  const destination: Destination = {
    owner: owner.peerId,
    bits: BITS,
    hosts: [{ peer: host.node.peerId, addrs: host.node.multiaddrs().map(a => a.replace(/\/p2p\/.*$/, '')) }],
    ...(pass === undefined ? {} : { pass: pass instanceof Uint8Array ? pass : passBytes(pass) })
  }
  const mail = await prepareMail({ subject: 'hi', body: 'short' }, { from, card: destination })
  assert.equal(mail.envelope.byteLength, SIZE)
  const { receipts, failures } = await deliverPrepared(mail, 1, { timeoutMs: 30_000 })
  return receipts.length === 1 ? 'receipt' : failures[0]!.code
}

async function each (n: number, one: () => Promise<string>): Promise<string[]> {
  const outcomes: string[] = []
  for (let i = 0; i < n; i++) outcomes.push(await one())
  return outcomes
}

describe('passes at delivery', () => {
  test('strangers fill the quota; a contact\'s pass still gets through up to its own share, then falls back to the strangers\' quota', async () => {
    const host = await replica({ policy: { quotaBytes: 3 * SIZE, passQuotaBytes: 2 * SIZE, passesQuotaBytes: 3 * SIZE } })
    const inbox = await host.inbox(owner.peerId, BITS)
    const alicePass = createPass(owner, { ttlMs: 60_000 })
    const carolPass = createPass(owner, { ttlMs: 60_000 })
    // Alice's pass: two in its share, a third falls back to the strangers' quota (one of three).
    assert.deepEqual(await each(3, async () => await deliver(host, alice, alicePass)), ['receipt', 'receipt', 'receipt'])
    assert.equal(host.delivery.passUsed(inbox.address, passIdText(alicePass)), 2 * SIZE)
    // Strangers fill the rest of their quota, then are refused.
    assert.deepEqual(await each(3, async () => await deliver(host, stranger)), ['receipt', 'receipt', 'ERR_OVER_QUOTA'])
    // Alice's share and the strangers' quota are both full; Carol's pass has room (all passes: 3).
    assert.equal(await deliver(host, alice, alicePass), 'ERR_OVER_QUOTA')
    assert.deepEqual(await each(2, async () => await deliver(host, alice, carolPass)), ['receipt', 'ERR_OVER_QUOTA'], 'the passes of one inbox share passesQuotaBytes')
    // The owner reads: the passes' shares and the quota free.
    const pruned = waitFor([[inbox.events, 'pruned']], () => host.delivery.passUsed(inbox.address, passIdText(alicePass)) === 0, AbortSignal.timeout(30_000))
    await inbox.prune((await inbox.pending()).map(m => m.hash), owner.seed)
    await pruned
    assert.equal(host.delivery.passUsed(inbox.address, passIdText(carolPass)), 0)
    assert.equal(await deliver(host, alice, alicePass), 'receipt')
    assert.equal(await deliver(host, stranger), 'receipt')
  })

  test('a pass of another owner, an expired, a forged or a damaged one is refused with its code, not taken as a stranger\'s', async () => {
    const host = await replica()
    await host.inbox(owner.peerId, BITS)
    assert.equal(await deliver(host, alice, createPass(other)), 'ERR_BAD_PASS')
    assert.equal(await deliver(host, alice, createPass(owner, { ttlMs: 1_000, now: Date.now() - 2_000 })), 'ERR_PASS_EXPIRED')
    const forged = { ...signRecord('ipms/pass/v1', other, { id: new Uint8Array(16), issued: Date.now() }), owner: owner.peerId }
    assert.equal(await deliver(host, alice, forged as unknown as Pass), 'ERR_BAD_PASS')
    assert.equal(await deliver(host, alice, new Uint8Array([0xa1, 0x61, 0x76, 0x01])), 'ERR_BAD_PASS')
    assert.equal(await deliver(host, alice, createPass(owner)), 'receipt')
  })

  test('a host restart keeps each pass\'s use; a prune the accounting did not see is released at the next delivery', async () => {
    const home = await makeTempHome()
    const identity = await createIdentity()
    const policy = { quotaBytes: SIZE, passQuotaBytes: 2 * SIZE }
    const pass = createPass(owner)
    try {
      let host = await startReplica({ identity, home, policy })
      try {
        await host.inbox(owner.peerId, BITS)
        assert.deepEqual(await each(2, async () => await deliver(host, alice, pass)), ['receipt', 'receipt'])
      } finally {
        await host.cleanup()
      }
      host = await startReplica({ identity, home, policy })
      try {
        await host.inbox(owner.peerId, BITS)
        assert.equal(await deliver(host, stranger), 'receipt', 'the pass\'s mail does not count against the strangers\' quota after a restart')
        assert.equal(await deliver(host, alice, pass), 'ERR_OVER_QUOTA', 'the pass\'s share is still used after the restart')
        assert.equal(host.delivery.passUsed(inboxAddress(owner.peerId, BITS), passIdText(pass)), 2 * SIZE)
      } finally {
        await host.cleanup()
      }
      // The owner prunes before any delivery has made the host look at this inbox's passes: the
      // records of mail no longer pending are dropped at the next delivery.
      host = await startReplica({ identity, home, policy })
      try {
        const inbox = await host.inbox(owner.peerId, BITS)
        await inbox.prune((await inbox.pending()).map(m => m.hash), owner.seed)
        assert.equal(await deliver(host, alice, pass), 'receipt')
        assert.equal(host.delivery.passUsed(inbox.address, passIdText(pass)), SIZE, 'only the new mail counts against the pass')
        assert.deepEqual(await each(2, async () => await deliver(host, stranger)), ['receipt', 'ERR_OVER_QUOTA'])
      } finally {
        await host.cleanup()
      }
    } finally {
      await rm(home, { recursive: true, force: true })
    }
  })
})

describe('the quota decision and the request\'s pass (pure)', () => {
  const policy = { quotaBytes: 10, passQuotaBytes: 4, passesQuotaBytes: 6 }
  test('a pass counts against its share first, then the strangers\' quota; refusals say which is full', () => {
    assert.equal((quotaDecision({ size: 4, strangers: 10 }, policy) as Refusal).code, 'ERR_OVER_QUOTA')
    assert.equal(quotaDecision({ size: 4, strangers: 6 }, policy), 'strangers')
    assert.equal(quotaDecision({ size: 4, strangers: 10, pass: { own: 0, all: 2 } }, policy), 'pass')
    assert.equal(quotaDecision({ size: 4, strangers: 0, pass: { own: 1, all: 1 } }, policy), 'strangers', 'share full: a stranger\'s chance')
    assert.equal((quotaDecision({ size: 1, strangers: 10, pass: { own: 0, all: 6 } }, policy) as Refusal).code, 'ERR_OVER_QUOTA', 'all passes full')
    assertProblem(quotaDecision({ size: 1, strangers: 10, pass: { own: 4, all: 4 } }, policy) as Refusal, 'ERR_OVER_QUOTA', /the pass holds 4 bytes here/)
  })

  test('requestPass never throws: absent → none; anything but a valid pass of the owner → a refusal code', () => {
    const now = Date.now()
    assert.equal(requestPass(undefined, owner.peerId, now), undefined)
    const pass = createPass(owner)
    assert.equal(requestPass(passBytes(pass), owner.peerId, now), passIdText(pass))
    for (const value of [null, 'ipmspass…', 7, [], {}, new Uint8Array(0), new Uint8Array(9000), new TextEncoder().encode(encodeRecord('ipmspass', pass))]) {
      assert.equal((requestPass(value, owner.peerId, now) as Refusal).code, 'ERR_BAD_PASS')
    }
    assert.equal((requestPass(passBytes(pass), other.peerId, now) as Refusal).code, 'ERR_BAD_PASS')
    assert.equal((requestPass(passBytes(createPass(owner, { ttlMs: 1, now: now - 10 })), owner.peerId, now) as Refusal).code, 'ERR_PASS_EXPIRED')
  })
})
