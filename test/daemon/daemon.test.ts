/**
 * The daemon as a library (src/daemon/daemon.ts), on real nodes over TCP on 127.0.0.1 in temporary
 * homes: a host daemon picks up a grant; an owner's daemon gets a mail sent through a sender's
 * daemon as a `mail` event; replay with since() and reset; syncNow() through the daemon's queue;
 * a send with no host reachable waits in the daemon's outbox (an `outbox` event); a clean stop.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDaemon, type Daemon } from '../../src/daemon/daemon.ts'
import type { DaemonEvent } from '../../src/daemon/events.ts'
import { parseConfig } from '../../src/home/config.ts'
import { openOwnerHosts } from '../../src/home/owner-hosts.ts'
import { createIdentity, type Identity } from '../../src/identity/index.ts'
import { keepGrant } from '../../src/node/hosting.ts'

const BITS = 8
const config = parseConfig({ bits: BITS, dht: false })
let root: string
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-daemon-lib-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

/** The first event (past or future) that `match` accepts, within `timeoutMs`. */
async function nextEvent (daemon: Daemon, match: (e: DaemonEvent) => boolean, timeoutMs = 30_000): Promise<DaemonEvent> {
  const signal = AbortSignal.timeout(timeoutMs)
  for await (const e of daemon.events.subscribe({ since: 0, signal })) if (!('reset' in e) && match(e)) return e
  throw new Error(`no such event within ${timeoutMs} ms (or the daemon stopped): ${JSON.stringify(daemon.events.since(Math.max(0, daemon.events.last() - 20)))}`)
}

interface Party { identity: Identity, home: string }
const party = async (name: string): Promise<Party> => ({ identity: await createIdentity(), home: await mkdtemp(join(root, `${name}-`)) })

test('host, owner and sender daemons: grant picked up, mail event, since() and reset, syncNow(), send() through the daemon, outbox, stop', async () => {
  const [host, bob, alice] = [await party('host'), await party('bob'), await party('alice')]
  const stops: Array<() => Promise<void>> = []
  try {
    const hostDaemon = await startDaemon({ ...host, config })
    stops.push(hostDaemon.stop)
    const hostAddr = hostDaemon.id().addrs[0]!.replace(/\/p2p\/.*/, '')
    // Bob grants the host; its operator accepts; the running host picks it up (as on SIGHUP).
    const bobHosts = openOwnerHosts(bob.home, { peerId: bob.identity.peerId, bits: BITS, signer: async () => bob.identity })
    const { host: granted, card } = await bobHosts.grant(host.identity.peerId, [hostAddr])
    await keepGrant(host.home, host.identity.peerId, granted.grant, { card })
    hostDaemon.reloadGrants()
    const hosting = await nextEvent(hostDaemon, e => e.type === 'hosting')
    assert.ok(hosting.type === 'hosting')
    assert.equal(hosting.data.owner, bob.identity.peerId)
    assert.deepEqual((await hostDaemon.hosted()).map(h => h.owner), [bob.identity.peerId])

    const bobDaemon = await startDaemon({ ...bob, config })
    stops.push(bobDaemon.stop)
    const started = bobDaemon.events.since(0)
    assert.ok(Array.isArray(started))
    assert.equal(started[0]!.type, 'started')
    assert.equal(started[0]!.id, 1)
    assert.deepEqual(bobDaemon.id(), { peerId: bob.identity.peerId, inbox: bobDaemon.node.inbox.address, bits: BITS, addrs: bobDaemon.node.node.multiaddrs(), hosted: [], encrypted: false })
    assert.equal((await bobDaemon.card()).text, card)
    const beforeMail = bobDaemon.events.last()

    const aliceDaemon = await startDaemon({ ...alice, config })
    stops.push(aliceDaemon.stop)
    const sent = await aliceDaemon.send({ subject: 'Hello', body: 'through the daemon' }, { card })
    assert.equal(sent.delivered, true)
    const sentEvent = await nextEvent(aliceDaemon, e => e.type === 'sent')
    assert.deepEqual(sentEvent.data, { id: sent.entry.id, receipts: [host.identity.peerId] })
    assert.deepEqual(await aliceDaemon.outbox(), [])

    const mail = await nextEvent(bobDaemon, e => e.type === 'mail')
    assert.ok(mail.type === 'mail')
    assert.equal(mail.data.entry, sent.entry.receipts[0]!.entry)
    assert.equal(mail.data.from, alice.identity.peerId)
    assert.equal(mail.data.id, mail.data.entry.slice(-8))
    assert.ok(mail.id > beforeMail)
    // What followed an id, exactly once; an id from another run is a reset.
    const replay = bobDaemon.events.since(beforeMail)
    assert.ok(Array.isArray(replay))
    assert.deepEqual(replay.filter(e => e.type === 'mail').map(e => e.id), [mail.id])
    assert.deepEqual(bobDaemon.events.since(bobDaemon.events.last() + 1), { reset: true, last: bobDaemon.events.last() })
    assert.deepEqual((await bobDaemon.list()).map(m => m.entry), [mail.data.entry])
    assert.equal((await bobDaemon.read(mail.data.id)).mail.body, 'through the daemon')
    await assert.rejects(bobDaemon.read('nosuchid'), { code: 'ERR_NOT_FOUND' })

    // syncNow(): the daemon's own read, queued with its other steps; a second mail comes with it
    // if it was not pushed first, and never twice.
    const second = await aliceDaemon.send({ subject: 'Again', body: 'second' }, { card })
    assert.equal(second.delivered, true)
    const synced = await bobDaemon.syncNow()
    assert.deepEqual(synced.replicas.map(r => [r.replica, r.ok]), [[host.identity.peerId, true]])
    await nextEvent(bobDaemon, e => e.type === 'mail' && e.data.entry === second.entry.receipts[0]!.entry)
    const mails = bobDaemon.events.since(0)
    assert.ok(Array.isArray(mails))
    assert.equal(mails.filter(e => e.type === 'mail').length, 2, 'one event per mail')
    assert.equal((await bobDaemon.list()).length, 2)

    // The host goes: a send waits in the sender daemon's outbox; syncNow() finds no replica.
    await hostDaemon.stop()
    await hostDaemon.stopped
    const hostEvents = hostDaemon.events.since(0)
    assert.ok(Array.isArray(hostEvents))
    assert.deepEqual(hostEvents.slice(-2).map(e => e.type), ['stopping', 'stopped'])
    const waiting = await aliceDaemon.send({ subject: 'Later', body: 'host down' }, { card, timeoutMs: 5_000 })
    assert.equal(waiting.delivered, false)
    const outboxEvent = await nextEvent(aliceDaemon, e => e.type === 'outbox')
    assert.deepEqual({ ...outboxEvent.data, lastError: undefined }, { id: waiting.entry.id, to: bob.identity.peerId, receipts: 0, replicas: 1, lastError: undefined })
    assert.deepEqual((await aliceDaemon.outbox()).map(e => e.id), [waiting.entry.id])
    assert.deepEqual((await aliceDaemon.retryOutbox({ force: true, timeoutMs: 5_000 })).delivered, [])
    await assert.rejects(bobDaemon.syncNow(), { code: 'ERR_NO_REPLICA' })
  } finally {
    for (const stop of stops.reverse()) await stop()
  }
})

test('a daemon stops on its signal: stopping and stopped are the last events, subscriptions end, the home is free again', async () => {
  const owner = await party('solo')
  const controller = new AbortController()
  const daemon = await startDaemon({ ...owner, config, signal: controller.signal })
  const seen: string[] = []
  const reading = (async () => { for await (const e of daemon.events.subscribe({ since: 0 })) if (!('reset' in e)) seen.push(e.type) })()
  controller.abort()
  await daemon.stopped
  await reading
  assert.deepEqual([seen[0], ...seen.slice(-2)], ['started', 'stopping', 'stopped'])
  const again = await startDaemon({ ...owner, config })
  await again.stop()
})

test('live mail pushed by a host: every mail becomes a `mail` event on its own, without a syncNow (its envelope may come after its entry)', async () => {
  const [host, bob, alice] = [await party('live-host'), await party('live-bob'), await party('live-alice')]
  const stops: Array<() => Promise<void>> = []
  try {
    const hostDaemon = await startDaemon({ ...host, config })
    stops.push(hostDaemon.stop)
    const bobHosts = openOwnerHosts(bob.home, { peerId: bob.identity.peerId, bits: BITS, signer: async () => bob.identity })
    const { host: granted, card } = await bobHosts.grant(host.identity.peerId, [hostDaemon.id().addrs[0]!.replace(/\/p2p\/.*/, '')])
    await keepGrant(host.home, host.identity.peerId, granted.grant, { card })
    hostDaemon.reloadGrants()
    await nextEvent(hostDaemon, e => e.type === 'hosting')
    // The owner's daemon reads at once what its entry brings (no gathering delay): a read that
    // finds an entry without its envelope yet must be followed by one when the envelope comes.
    const bobDaemon = await startDaemon({ ...bob, config, schedule: { mailSettleMs: 0 } })
    stops.push(bobDaemon.stop)
    const aliceDaemon = await startDaemon({ ...alice, config })
    stops.push(aliceDaemon.stop)
    for (let i = 0; i < 8; i++) {
      const sent = await aliceDaemon.send({ subject: `live ${i}`, body: `pushed ${i}` }, { card })
      assert.equal(sent.delivered, true)
      await nextEvent(bobDaemon, e => e.type === 'mail' && e.data.entry === sent.entry.receipts[0]!.entry, 20_000)
    }
    assert.equal((await bobDaemon.list()).length, 8)
  } finally {
    for (const stop of stops.reverse()) await stop()
  }
})
