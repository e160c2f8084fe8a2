/**
 * The outbox on real nodes: a mail is on disk before its first delivery attempt, stays there with
 * the reason while no host gives a receipt, survives a restart of the outbox, and leaves once a
 * retry gets its receipt; the owner then reads it. Under wrong clocks and concurrency (issue #11):
 * a stale mail is stamped again once the clocks agree, retries keep a monotonic schedule, a mail
 * another process is trying is skipped, and a send reports only its own mail. Given up (issue #14):
 * a mail every host it needs refused for good, or older than the bound, stays listed with the
 * reason and is not tried again but by its id; a retry delivers by the recipient's current card.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createCard } from '../../src/hosting/card.ts'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { openMail } from '../../src/mail/seal.ts'
import { FIRST_BACKOFF_MS, openOutbox, type OutboxEntry } from '../../src/node/outbox.ts'
import { cardDestination } from '../../src/node/send-mail.ts'
import { takeLease } from '../../src/node/outbox-lease.ts'
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

/** A host nobody listens for (connection refused at once): a failure that may pass later, never a refusal. */
const deadHost = async (): Promise<{ peer: string, addrs: string[] }> => ({ peer: (await createIdentity()).peerId, addrs: ['/ip4/127.0.0.1/tcp/9'] })

test('no host takes the mail: it stays in the outbox with why; after a restart a retry delivers it', async () => {
  const host = await replica() // up, but not (yet) keeping the owner's inbox
  const card = createCard(owner, [cardHost(host), await deadHost()], BITS) // the second may come back: not given up
  const outbox = openOutbox(home)
  const { entry, delivered } = await outbox.send({ subject: 'later', body: 'kept until a host takes it' }, { from: alice, card, timeoutMs: 5_000 })
  assert.equal(delivered, false)
  assert.equal(entry.attempts, 1)
  assert.match(entry.lastError ?? '', /ERR_NOT_HOSTED/)
  assert.equal(entry.gaveUp, undefined, 'a host that did not answer may still take it')
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

test('every host refuses for good (not hosted): the mail is given up at once with the reason, kept and listed, tried by no retry; a retry by its id revives and delivers it (issue #14)', async () => {
  const host = await replica() // up, but not keeping the owner's inbox
  const card = createCard(owner, [cardHost(host)], BITS)
  const otherHome = await makeTempHome('ipms-outbox-gaveup-')
  try {
    const gaveUp: OutboxEntry[] = []
    const outbox = openOutbox(otherHome, { onGaveUp: e => { gaveUp.push(e) } })
    const { entry, delivered } = await outbox.send({ body: 'nobody keeps it' }, { from: alice, card })
    assert.equal(delivered, false)
    assert.match(entry.gaveUp?.reason ?? '', /^refused for good: 12D3KooW\S+ does not keep the recipient's inbox$/)
    assert.deepEqual(gaveUp.map(e => e.id), [entry.id], 'said once')
    const [listed] = await outbox.list()
    assert.deepEqual(listed!.gaveUp, entry.gaveUp, 'kept on disk, listed with the reason')

    await host.inbox(owner.peerId, BITS) // the host keeps it now: still, nobody tries it but by its id
    const forced = await openOutbox(otherHome).retryReport({ force: true, now: Date.now() + 2 * 60 * 60_000 })
    assert.deepEqual(forced, { delivered: [], waiting: [], gaveUp: [], busy: [] })
    assert.equal((await outbox.list())[0]!.attempts, 1, 'not tried')

    const revived = await openOutbox(otherHome).retryReport({ id: entry.id.slice(-8) })
    assert.deepEqual(revived.delivered.map(e => e.id), [entry.id])
    assert.equal(revived.delivered[0]!.receipts[0]!.host, host.node.peerId)
    assert.deepEqual(await outbox.list(), [])
    await assert.rejects(outbox.retryReport({ id: entry.id }), (err: Error & { code?: string }) => err.code === 'ERR_NOT_FOUND')
  } finally {
    await rm(otherHome, { recursive: true, force: true })
  }
})

test('a full quota is not a refusal for good: the mail is retried (it clears when the owner reads) (issue #14)', async () => {
  const host = await replica({ policy: { quotaBytes: 1 } })
  await host.inbox(owner.peerId, BITS)
  const otherHome = await makeTempHome('ipms-outbox-quota-')
  try {
    const { entry, delivered, failures } = await openOutbox(otherHome).send({ body: 'over quota' }, { from: alice, card: createCard(owner, [cardHost(host)], BITS) })
    assert.equal(delivered, false)
    assert.deepEqual(failures.map(f => f.code), ['ERR_OVER_QUOTA'])
    assert.equal(entry.gaveUp, undefined)
  } finally {
    await rm(otherHome, { recursive: true, force: true })
  }
})

test('a mail not delivered within the bound on its age is given up at its next try, untried, with the reason; revived by its id, the bound counts again from then (issue #14)', async () => {
  const otherHome = await makeTempHome('ipms-outbox-age-')
  let wall = Date.now()
  try {
    const gaveUp: OutboxEntry[] = []
    const outbox = openOutbox(otherHome, { now: () => wall, maxAgeMs: 60 * 60_000, onGaveUp: e => { gaveUp.push(e) } })
    const { entry } = await outbox.send({ body: 'too long' }, { from: alice, card: createCard(owner, [await deadHost()], BITS) })
    assert.equal(entry.gaveUp, undefined)
    wall += 30 * 60_000
    assert.deepEqual((await outbox.retryReport({ force: true })).waiting.map(e => e.id), [entry.id], 'within the bound: tried')
    wall += 31 * 60_000
    const report = await outbox.retryReport({ force: true })
    assert.deepEqual(report.gaveUp.map(e => e.id), [entry.id])
    assert.match(report.gaveUp[0]!.gaveUp!.reason, /^not delivered within 1 hour \(since \d{4}-\d\d-\d\dT/)
    assert.deepEqual(gaveUp.map(e => e.id), [entry.id])
    const [listed] = await outbox.list()
    assert.equal(listed!.attempts, 2, 'given up without a third attempt')
    assert.deepEqual(await outbox.retryReport({ force: true }), { delivered: [], waiting: [], gaveUp: [], busy: [] })
    const revived = await outbox.retryReport({ id: entry.id })
    assert.deepEqual(revived.waiting.map(e => e.id), [entry.id], 'tried again, not given up at once')
    assert.equal((await outbox.list())[0]!.gaveUp, undefined)
  } finally {
    await rm(otherHome, { recursive: true, force: true })
  }
})

test('a retry delivers by the recipient\'s current card: a newer card naming another host is followed, with the same envelope and stamp; a card of another difficulty gives the mail up (issue #14)', async () => {
  const host = await replica()
  const inbox = await host.inbox(owner.peerId, BITS)
  const otherHome = await makeTempHome('ipms-outbox-card-')
  try {
    const old = createCard(owner, [await deadHost()], BITS, Date.now() - 60_000)
    let current = createCard(owner, [cardHost(host)], BITS)
    const looked: string[] = []
    const resolve = async (peer: string): Promise<ReturnType<typeof cardDestination>> => { looked.push(peer); return cardDestination(current) }
    const { entry, delivered } = await openOutbox(otherHome, { resolve }).send({ body: 'moved' }, { from: alice, card: old })
    assert.equal(delivered, false)
    assert.deepEqual(looked, [], 'a first send delivers by the card it was given')

    // An older card found is not followed (the mail's own is newer).
    const stale = openOutbox(otherHome, { resolve: async () => cardDestination(createCard(owner, [cardHost(host)], BITS, Date.now() - 120_000)) })
    assert.deepEqual((await stale.retryReport({ force: true })).waiting.map(e => e.id), [entry.id])

    const sent = await openOutbox(otherHome, { resolve }).retryReport({ force: true })
    assert.deepEqual(looked, [owner.peerId])
    assert.deepEqual(sent.delivered.map(e => e.id), [entry.id])
    assert.equal(sent.delivered[0]!.receipts[0]!.host, host.node.peerId)
    assert.deepEqual(sent.delivered[0]!.payload, entry.payload, 'the same stamp')
    assert.equal(openMail((await inbox.getEnvelope(entry.id))!, { identity: owner, inbox: inbox.address }).body, 'moved')

    // The owner moved to another difficulty: another inbox, to which this envelope is not sealed.
    const second = await openOutbox(otherHome).send({ body: 'sealed to the old inbox' }, { from: alice, card: old })
    current = createCard(owner, [cardHost(host)], BITS + 1)
    const moved = await openOutbox(otherHome, { resolve }).retryReport({ force: true })
    assert.deepEqual(moved.gaveUp.map(e => e.id), [second.entry.id])
    assert.match(moved.gaveUp[0]!.gaveUp!.reason, /inbox changed \(difficulty 8 → 9 bits\): this mail is sealed to the old one; send it again/)
  } finally {
    await rm(otherHome, { recursive: true, force: true })
  }
})

test('a mail delivered at once never lingers; one wanting two receipts keeps the first and asks only the others later', async () => {
  const [h1, h2] = await Promise.all([replica(), replica()])
  await h1.inbox(owner.peerId, BITS)
  const card = createCard(owner, [cardHost(h1), cardHost(h2), await deadHost()], BITS)
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
  const card = createCard(owner, [cardHost(host), await deadHost()], BITS)
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

test('a send reports its own mail: another outbox file that vanishes meanwhile, or is damaged, does not fail it (issue #11, defect 5)', async () => {
  const host = await replica()
  await host.inbox(owner.peerId, BITS)
  const card = createCard(owner, [cardHost(host)], BITS)
  const otherHome = await makeTempHome('ipms-outbox-own-')
  try {
    await mkdir(join(otherHome, 'outbox'), { recursive: true })
    // Listed by readdir but gone when read, as when another process delivers it in between.
    await symlink(join(otherHome, 'outbox', 'delivered-meanwhile'), join(otherHome, 'outbox', 'gone.cbor'))
    const outbox = openOutbox(otherHome)
    const first = await outbox.send({ body: 'mine' }, { from: alice, card })
    assert.equal(first.delivered, true)
    assert.deepEqual(await outbox.list(), [])
    // Retrying the rest fails outright now; the send still reports its own delivered mail.
    await writeFile(join(otherHome, 'outbox', 'damaged.cbor'), new Uint8Array([0xff]))
    const second = await outbox.send({ body: 'mine too' }, { from: alice, card })
    assert.equal(second.delivered, true)
    assert.equal(second.entry.receipts[0]!.host, host.node.peerId)
  } finally {
    await rm(otherHome, { recursive: true, force: true })
  }
})

const DAY = 24 * 60 * 60_000
for (const [way, offset] of [['ahead', 2 * DAY], ['behind', -2 * DAY]] as const) {
  test(`sent with this machine's clock 2 days ${way}: refused as stale, the message says whose clock is off; once corrected, a retry stamps the mail again and delivers it (issue #11, defect 4)`, async () => {
    const host = await replica()
    const inbox = await host.inbox(owner.peerId, BITS)
    const card = createCard(owner, [cardHost(host)], BITS)
    const otherHome = await makeTempHome('ipms-outbox-skew-')
    try {
      const skewed = openOutbox(otherHome, { now: () => Date.now() + offset })
      const { entry, delivered, failures } = await skewed.send({ body: `clock ${way}` }, { from: alice, card })
      assert.equal(delivered, false)
      assert.deepEqual(failures.map(f => f.code), ['ERR_STALE'])
      assert.ok(Math.abs(failures[0]!.skewMs! - offset) < 60_000, `the host said its time: skew ${failures[0]!.skewMs}`)
      assert.match(failures[0]!.message, new RegExp(`this machine's clock is 2 days ${way === 'ahead' ? 'ahead of' : 'behind'} the host's`))
      assert.match(entry.lastError ?? '', /ERR_STALE \(this machine's clock is 2 days/)
      const [kept] = await skewed.list()
      assert.equal(kept!.payload.ts, entry.payload.ts, 'not stamped again while the clocks disagree')
      assert.equal(kept!.attempts, 1)

      // The clock is corrected; the next retry (a new process: no forcing) delivers it.
      const corrected = openOutbox(otherHome)
      const sent = await corrected.retry()
      assert.equal(sent.length, 1, 'due: a schedule written by a clock 2 days ahead does not park it')
      assert.ok(Math.abs(sent[0]!.payload.ts - Date.now()) < 60_000, 'stamped again by the corrected clock')
      assert.equal(sent[0]!.payload.env, entry.id, 'the same envelope')
      assert.deepEqual(await corrected.list(), [])
      const envelope = await inbox.getEnvelope(entry.id)
      assert.equal(openMail(envelope!, { identity: owner, inbox: inbox.address }).body, `clock ${way}`)
    } finally {
      await rm(otherHome, { recursive: true, force: true })
    }
  })
}

test('retries are scheduled on the monotonic clock: setting the wall clock back 2 days does not park a mail (issue #11, defect 4)', async () => {
  const host = await replica() // up, but not keeping the inbox: every attempt fails
  const card = createCard(owner, [cardHost(host), await deadHost()], BITS)
  const otherHome = await makeTempHome('ipms-outbox-mono-')
  let wall = Date.now()
  let mono = 0
  try {
    const outbox = openOutbox(otherHome, { now: () => wall, monotonic: () => mono })
    const { entry } = await outbox.send({ body: 'scheduled' }, { from: alice, card })
    assert.equal(entry.attempts, 1)
    wall -= 2 * DAY
    await outbox.retry()
    assert.equal((await outbox.list())[0]!.attempts, 1, 'not due yet by the monotonic clock')
    mono += FIRST_BACKOFF_MS * 1.2 + 1
    await outbox.retry()
    assert.equal((await outbox.list())[0]!.attempts, 2, 'due once its backoff has passed, whatever the wall clock says')
  } finally {
    await rm(otherHome, { recursive: true, force: true })
  }
})

test('a mail leased by another live process is skipped by a retry, not waited for; its lease is taken over once that process is gone (issue #11, defect 6)', async () => {
  const host = await replica()
  const card = createCard(owner, [cardHost(host), await deadHost()], BITS)
  const otherHome = await makeTempHome('ipms-outbox-lease-')
  const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
  try {
    const outbox = openOutbox(otherHome)
    const { entry } = await outbox.send({ body: 'in flight elsewhere' }, { from: alice, card })
    await writeFile(join(otherHome, 'outbox', `${entry.id}.lease`), JSON.stringify({ pid: holder.pid, host: 'elsewhere', token: 'theirs', expires: Date.now() + 60_000 }))
    await host.inbox(owner.peerId, BITS)
    assert.deepEqual(await outbox.retry({ force: true }), [])
    assert.equal((await outbox.list())[0]!.attempts, 1, 'not tried while another process has it')
    holder.kill('SIGKILL')
    await once(holder, 'exit')
    const sent = await outbox.retry({ force: true })
    assert.deepEqual(sent.map(e => e.id), [entry.id])
    assert.deepEqual(await readdir(join(otherHome, 'outbox')), [], 'no lease left behind')
  } finally {
    holder.kill('SIGKILL')
    await rm(otherHome, { recursive: true, force: true })
  }
})

test('temp files of a writer killed mid-write (an entry, a lease) are removed when the outbox is next used', async () => {
  const otherHome = await makeTempHome('ipms-outbox-temps-')
  try {
    const dir = join(otherHome, 'outbox')
    await mkdir(dir, { recursive: true })
    const dead = 2 ** 22 + 12345 // above Linux's pid_max default (4 194 304 is the maximum): no such process
    await writeFile(join(dir, `.bafyx.cbor.${dead}.0123456789ab.tmp`), 'half')
    await writeFile(join(dir, `.bafyx.lease.${dead}.0123456789ab.tmp`), 'half')
    assert.deepEqual(await openOutbox(otherHome).list(), [])
    assert.deepEqual(await readdir(dir), [])
  } finally {
    await rm(otherHome, { recursive: true, force: true })
  }
})

test('more receipts wanted than the card has hosts: refused before the proof-of-work, nothing kept in the outbox (issue #14)', async () => {
  const otherHome = await makeTempHome('ipms-outbox-k-')
  try {
    const card = createCard(owner, [{ peer: (await createIdentity()).peerId, addrs: ['/ip4/127.0.0.1/tcp/9'] }], 30) // 30 bits: a stamp would take minutes
    const started = Date.now()
    await assert.rejects(openOutbox(otherHome).send({ body: 'never stamped' }, { from: alice, card, replicas: 2 }),
      (err: Error & { code?: string }) => err.code === 'ERR_INVALID_ARGUMENT' && /2 receipts from distinct hosts cannot be had: the card of 12D3KooW\w+ lists 1 host\. Ask for at most 1 \(-k\)/.test(err.message))
    assert.ok(Date.now() - started < 5_000, 'no proof-of-work was solved')
    assert.deepEqual(await openOutbox(otherHome).list(), [])
  } finally {
    await rm(otherHome, { recursive: true, force: true })
  }
})

test('outbox cancel: a waiting mail given up leaves the outbox; refused (ERR_HOME_IN_USE) while another process delivers it; NotFoundError for none (issue #14)', async () => {
  const otherHome = await makeTempHome('ipms-outbox-cancel-')
  try {
    const card = createCard(owner, [{ peer: (await createIdentity()).peerId, addrs: ['/ip4/127.0.0.1/tcp/9'] }], BITS)
    const outbox = openOutbox(otherHome)
    const { entry, delivered } = await outbox.send({ subject: 'never', body: 'given up' }, { from: alice, card, timeoutMs: 2_000 })
    assert.equal(delivered, false)
    const lease = await takeLease(join(otherHome, 'outbox'), entry.id, 60_000, Date.now)
    assert.ok(lease !== undefined)
    await assert.rejects(outbox.cancel(entry.id.slice(-8)), (err: Error & { code?: string }) => err.code === 'ERR_HOME_IN_USE' && /delivering .* right now/.test(err.message))
    await lease.release()
    assert.equal((await outbox.cancel(entry.id.slice(-8))).id, entry.id)
    assert.deepEqual(await outbox.list(), [])
    await assert.rejects(outbox.cancel(entry.id), (err: Error & { code?: string }) => err.code === 'ERR_NOT_FOUND')
  } finally {
    await rm(otherHome, { recursive: true, force: true })
  }
})
