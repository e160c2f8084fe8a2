/**
 * Soak (issue #11): a sender, two hosts and an owner, the hosts and the owner as processes of their
 * own (test/helpers/host-process.ts, owner-process.ts), killed with SIGKILL at random and started
 * again on the same homes, while the sender keeps sending (outbox, one receipt per mail, either
 * host) and the owner keeps reading (sync, store, prune). After about 40 s of that, everything is
 * brought up again: every mail is read exactly once by the owner (every receipted one, and the
 * rest once the outbox delivered them), and both hosts' inboxes still take and give mail.
 *
 * The schedule comes from a seeded RNG; the seed is printed (a diagnostic line) and
 * IPMS_SOAK_SEED=<n> replays it.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, randomInt } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { createCard } from '../../src/hosting/card.ts'
import { identityFromSeed, createIdentity, type Identity } from '../../src/identity/identity.ts'
import { openMailStore } from '../../src/mail/mail-store.ts'
import type { Receipt } from '../../src/node/deliver.ts'
import { openOutbox } from '../../src/node/outbox.ts'
import { readInbox } from '../../src/node/read-inbox.ts'
import { makeTempHome } from '../helpers/nodes.ts'
import { freePort, kill9, killAll, startChild, type Child } from '../helpers/processes.ts'
import { replicaPool } from '../helpers/replicas.ts'

const BITS = 4
const CHAOS_MS = 40_000
const MAX_MAILS = 400
const SEND_TIMEOUT_MS = 10_000
const replica = replicaPool()
const homes: string[] = []
after(async () => {
  await killAll()
  await replica.stopAll()
  await Promise.all(homes.map(async h => await rm(h, { recursive: true, force: true })))
})

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function seeded (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A pause of the chaos schedule (what happens when), not a wait for something to happen. */
const pause = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

let owner: Identity, alice: Identity
let ownerSeed: string
before(async () => {
  ownerSeed = randomBytes(32).toString('hex')
  owner = await identityFromSeed(new Uint8Array(Buffer.from(ownerSeed, 'hex')))
  alice = await createIdentity()
})

test('soak: random kill -9 and restarts of two hosts and the owner; every mail is read exactly once, no inbox wedged', async (t) => {
  const seed = Number(process.env.IPMS_SOAK_SEED ?? randomInt(2 ** 31))
  t.diagnostic(`soak seed ${seed} (IPMS_SOAK_SEED=${seed} replays this schedule)`)
  const random = seeded(seed)
  const between = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo))

  const hosts = await Promise.all([0, 1].map(async (i) => {
    const home = await makeTempHome(`ipms-soak-host${i}-`)
    homes.push(home)
    const hostSeed = randomBytes(32).toString('hex')
    const identity = await identityFromSeed(new Uint8Array(Buffer.from(hostSeed, 'hex')))
    return { name: `host${i}`, home, seed: hostSeed, peerId: identity.peerId, port: await freePort() }
  }))
  const ownerHome = await makeTempHome('ipms-soak-owner-')
  const senderHome = await makeTempHome('ipms-soak-sender-')
  homes.push(ownerHome, senderHome)
  const addressOf = (h: typeof hosts[number]): string => `/ip4/127.0.0.1/tcp/${h.port}/p2p/${h.peerId}`
  const card = createCard(owner, hosts.map(h => ({ peer: h.peerId, addrs: [`/ip4/127.0.0.1/tcp/${h.port}`] })), BITS)

  // The processes, by name; each (re)start waits for its ready line.
  const start: Record<string, () => Promise<Child>> = {
    host0: async () => await startChild('host-process.ts', [hosts[0]!.home, hosts[0]!.seed, String(hosts[0]!.port), owner.peerId, String(BITS)], 'READY '),
    host1: async () => await startChild('host-process.ts', [hosts[1]!.home, hosts[1]!.seed, String(hosts[1]!.port), owner.peerId, String(BITS)], 'READY '),
    owner: async () => await startChild('owner-process.ts', [ownerHome, ownerSeed, String(BITS), ...hosts.map(addressOf)], 'READY')
  }
  const running = new Map<string, Child>()
  for (const [name, run] of Object.entries(start)) running.set(name, await run())

  const outbox = openOutbox(senderHome)
  const sent: string[] = []
  const receipts = new Map<string, Receipt[]>()
  const bodyOf = new Map<string, string>()
  const kills: string[] = []
  const deadline = Date.now() + CHAOS_MS
  // Set when the test ends early (a failed step): both loops stop, a restart under way kills what it started.
  let over = false
  const going = (): boolean => !over && Date.now() < deadline

  const sender = (async () => {
    while (going() && sent.length < MAX_MAILS) {
      const body = `soak mail ${sent.length}`
      sent.push(body)
      const { entry, delivered } = await outbox.send({ subject: `soak ${sent.length}`, body }, { from: alice, card, timeoutMs: SEND_TIMEOUT_MS })
      bodyOf.set(entry.id, body)
      if (delivered) receipts.set(body, entry.receipts)
    }
  })()
  // Kills at random moments; each victim comes back after a random time, meanwhile others may
  // die too (both hosts down: the mail waits in the outbox).
  const down = new Map<string, Promise<void>>()
  const restartFailures: string[] = []
  const chaos = (async () => {
    while (going()) {
      await pause(between(300, 1500))
      const victim = ['host0', 'host1', 'owner'][between(0, 3)]!
      if (down.has(victim)) continue
      await kill9(running.get(victim)!.child)
      kills.push(victim)
      down.set(victim, (async () => {
        await pause(between(200, 3000))
        const child = await start[victim]!()
        running.set(victim, child)
        if (over) await kill9(child.child)
      })().catch((err: Error) => { restartFailures.push(`${victim}: ${err.message}`) }).finally(() => { down.delete(victim) }))
    }
    await Promise.all(down.values())
  })()
  try {
    await Promise.all([sender, chaos])
  } finally {
    over = true
    await Promise.allSettled([sender, chaos, ...down.values()])
  }
  assert.deepEqual(restartFailures, [], 'every process killed starts again on its home')
  t.diagnostic(`${sent.length} mails sent, ${receipts.size} receipted at once; kills: ${kills.join(' ')}`)
  assert.ok(kills.length >= 5, `the schedule killed ${kills.length} processes`)
  assert.ok(receipts.size > 0, 'some mail got its receipt during the chaos')

  // Calm: everything runs. The outbox delivers what is left; each retry is a real attempt.
  for (let attempt = 0; attempt < 10 && (await outbox.list()).length > 0; attempt++) {
    for (const entry of await outbox.retry({ force: true })) receipts.set(bodyOf.get(entry.id)!, entry.receipts)
  }
  // The outbox lets a mail go only with its receipt (some came from the retries a send makes itself).
  assert.deepEqual((await outbox.list()).map(e => e.id), [], 'the outbox is empty once the hosts stay up: every mail has its receipt')

  // The owner's own process stops (kill -9 once more); a last read here, on its home, from both hosts.
  await kill9(running.get('owner')!.child)
  const me = await replica({ home: ownerHome, identity: owner })
  const inbox = await me.inbox(owner.peerId, BITS)
  const last = await readInbox({ node: me.node, sync: me.sync, inbox, identity: owner, replicas: hosts.map(addressOf) })
  assert.deepEqual(last.replicas.filter(r => !r.ok), [], 'both hosts answer the owner')

  // Exactly once: every mail sent is in the owner's store, none twice.
  const bodies = (await openMailStore(ownerHome).received()).map(r => r.mail.body)
  const counts = new Map<string, number>()
  for (const b of bodies) counts.set(b, (counts.get(b) ?? 0) + 1)
  const twice = [...counts].filter(([, n]) => n > 1).map(([b]) => b)
  assert.deepEqual(twice, [], 'no mail is stored twice')
  const missing = sent.filter(b => !counts.has(b))
  assert.deepEqual(missing, [], 'every mail sent (receipted during the chaos or delivered after) was read')
  assert.equal(bodies.length, sent.length)

  // No inbox wedged: each host takes a new mail, and the owner reads both.
  for (const h of hosts) {
    const only = createCard(owner, [{ peer: h.peerId, addrs: [`/ip4/127.0.0.1/tcp/${h.port}`] }], BITS)
    const { delivered } = await outbox.send({ subject: 'after', body: `after the soak, via ${h.name}` }, { from: alice, card: only, timeoutMs: SEND_TIMEOUT_MS })
    assert.equal(delivered, true, `${h.name} still accepts mail`)
  }
  const after = await readInbox({ node: me.node, sync: me.sync, inbox, identity: owner, replicas: hosts.map(addressOf) })
  assert.deepEqual(after.received.map(r => r.mail.body).sort(), hosts.map(h => `after the soak, via ${h.name}`).sort())
})
