/**
 * The daemon's local API with mail going through it (docs/API.md), on real daemons (a host, the
 * owner bob, the sender alice) over TCP on 127.0.0.1 in temporary homes, each API over its real
 * Unix socket: POST /send streams NDJSON progress then the result `ipms send --json` prints;
 * GET /events gives `mail` live, and after a reconnect with Last-Event-ID exactly the mail missed;
 * an id older than what is kept gives `reset`; POST /sync; GET /mail and /mail/:id; 20 concurrent
 * sends through one daemon give 20 receipts and no duplicate at the owner.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDaemon, type Daemon } from '../../src/daemon/daemon.ts'
import { parseConfig } from '../../src/home/config.ts'
import { openContacts } from '../../src/home/contacts.ts'
import { openOwnerHosts } from '../../src/home/owner-hosts.ts'
import { createIdentity, type Identity } from '../../src/identity/index.ts'
import { keepGrant } from '../../src/node/hosting.ts'
import { callApi, readEvents, type ApiTarget } from '../helpers/api.ts'

const BITS = 8
const config = parseConfig({ bits: BITS, dht: false })
let root: string
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-api-flows-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

interface Party { identity: Identity, home: string }
const party = async (name: string): Promise<Party> => ({ identity: await createIdentity(), home: await mkdtemp(join(root, `${name}-`)) })
const apiOf = async (home: string): Promise<ApiTarget> => ({ socket: join(home, 'api.sock'), cookie: await readFile(join(home, 'api.cookie'), 'utf8') })

test('send through the API (NDJSON), mail events live and replayed exactly once after a reconnect, reset, sync, read, 20 concurrent sends', async () => {
  const [host, bob, alice] = [await party('host'), await party('bob'), await party('alice')]
  const daemons: Daemon[] = []
  const readers: Array<{ close: () => void }> = []
  try {
    const hostDaemon = await startDaemon({ ...host, config })
    daemons.push(hostDaemon)
    const hostAddr = hostDaemon.id().addrs[0]!.replace(/\/p2p\/.*/, '')
    const bobHosts = openOwnerHosts(bob.home, { peerId: bob.identity.peerId, bits: BITS, signer: async () => bob.identity })
    const { host: granted, card } = await bobHosts.grant(host.identity.peerId, [hostAddr])
    await keepGrant(host.home, host.identity.peerId, granted.grant, { card })
    hostDaemon.reloadGrants()
    // The host serves bob's inbox once it picked up the grant (its API tells, as any client sees it).
    const hostEvents = await readEvents(await apiOf(host.home), { lastEventId: '0' })
    readers.push(hostEvents)
    await hostEvents.next(e => e.event === 'hosting')
    const bobDaemon = await startDaemon({ ...bob, config })
    daemons.push(bobDaemon)
    const aliceDaemon = await startDaemon({ ...alice, config, eventsKept: 5 })
    daemons.push(aliceDaemon)
    await openContacts(alice.home).add('bob', card)
    const bobApi = await apiOf(bob.home)
    const aliceApi = await apiOf(alice.home)

    const live = await readEvents(bobApi)
    readers.push(live)
    assert.equal(live.status, 200)

    // POST /send by contact name: progress lines, then the result `ipms send --json` prints.
    const first = await callApi(aliceApi, { method: 'POST', path: '/api/v1/send', body: { to: 'bob', subject: 'Hello', body: 'through the API', attachments: [{ name: 'a.txt', type: 'text/plain', data: Buffer.from('attached').toString('base64') }] } })
    assert.equal(first.status, 200)
    assert.equal(first.headers['content-type'], 'application/x-ndjson; charset=utf-8')
    const stages = first.lines.slice(0, -1).map(l => l.progress.stage)
    assert.equal(stages[0], 'resolve')
    assert.ok(stages.includes('deliver'), stages.join())
    assert.deepEqual(first.lines[0].progress, { stage: 'resolve', to: bob.identity.peerId, name: 'bob', via: 'contact', hosts: 1, bits: BITS, pass: false, cardTs: first.lines[0].progress.cardTs, notes: [] })
    const result = first.json
    assert.equal(result.ok, true, first.text)
    assert.equal(result.delivered, true)
    assert.equal(result.to, bob.identity.peerId)
    assert.equal(result.name, 'bob')
    assert.equal(result.via, 'contact')
    assert.deepEqual(result.receipts.map((r: { host: string }) => r.host), [host.identity.peerId])
    assert.deepEqual(result.failures, [])

    const mail = await live.next(e => e.event === 'mail')
    assert.equal(mail.data.entry, result.receipts[0].entry)
    assert.equal(mail.data.from, alice.identity.peerId)
    const logged = bobDaemon.events.since(Number(mail.id) - 1)
    assert.ok(Array.isArray(logged))
    assert.equal(mail.data.time, logged[0]!.time, 'the event carries the time the daemon logged it')
    const seenId = mail.id!
    live.close()

    // Away: two mails arrive (sent by card text this time); back with Last-Event-ID: both, once each.
    const missed: string[] = []
    for (const subject of ['two', 'three']) {
      const sent = await callApi(aliceApi, { method: 'POST', path: '/api/v1/send', body: { to: card, subject, body: subject } })
      assert.equal(sent.json.ok, true, sent.text)
      assert.equal(sent.json.via, 'contact', 'a card of a contact is theirs')
      missed.push(sent.json.receipts[0].entry)
    }
    const waitAll = await readEvents(bobApi, { lastEventId: '0' })
    readers.push(waitAll)
    await waitAll.mails(missed)
    waitAll.close()
    const back = await readEvents(bobApi, { lastEventId: seenId })
    readers.push(back)
    const replayed = [await back.next(e => e.event === 'mail'), await back.next(e => e.event === 'mail')]
    assert.deepEqual(replayed.map(e => e.data.entry).sort(), [...missed].sort())
    assert.ok(replayed.every(e => Number(e.id) > Number(seenId)))
    // ?since= does the same.
    const bySince = await callApi(bobApi, { path: `/api/v1/events?since=${bobDaemon.events.last()}`, signal: AbortSignal.timeout(1_000) }).catch(() => undefined)
    assert.equal(bySince, undefined, 'an event stream stays open')

    // GET /mail and /mail/:id (and raw).
    const list = (await callApi(bobApi, { path: '/api/v1/mail' })).json
    assert.equal(list.mail.length, 3)
    assert.deepEqual(Object.keys(list.mail[0]).sort(), ['attachments', 'date', 'entry', 'from', 'id', 'messageId', 'name', 'size', 'subject'].filter(k => k !== 'name').sort())
    const hello = list.mail.find((m: { subject: string }) => m.subject === 'Hello')
    assert.equal(hello.attachments, 1)
    const read = (await callApi(bobApi, { path: `/api/v1/mail/${hello.id}` })).json
    assert.equal(read.mail.body, 'through the API')
    assert.deepEqual(read.mail.attachments, [{ name: 'a.txt', type: 'text/plain', size: 8 }])
    const raw = (await callApi(bobApi, { path: `/api/v1/mail/${hello.id}?raw=1` })).json
    assert.match(raw.raw, /^Subject: Hello$/m)

    // POST /sync: a progress line, then what `ipms sync --json` prints.
    const synced = await callApi(bobApi, { method: 'POST', path: '/api/v1/sync' })
    assert.equal(synced.lines[0].progress.stage, 'sync')
    assert.equal(synced.json.ok, true, synced.text)
    assert.deepEqual(synced.json.replicas.map((r: { replica: string, ok: boolean }) => [r.replica, r.ok]), [[host.identity.peerId, true]])
    assert.deepEqual(Object.keys(synced.json).sort(), ['ok', 'outboxDelivered', 'pruned', 'quarantined', 'received', 'replicas', 'waiting'])

    // 20 concurrent sends through alice's daemon: 20 receipts, 20 distinct mails at bob, none twice.
    const many = await Promise.all(Array.from({ length: 20 }, async (_, i) =>
      await callApi(aliceApi, { method: 'POST', path: '/api/v1/send', body: { to: 'bob', subject: `n${i}`, body: `mail ${i}` } })))
    for (const answer of many) assert.equal(answer.json.ok, true, answer.text)
    const entries = many.map(a => a.json.receipts[0].entry as string)
    assert.equal(new Set(entries).size, 20)
    const all = await readEvents(bobApi, { lastEventId: '0' })
    readers.push(all)
    await all.mails(entries)
    const mails = (await callApi(bobApi, { path: '/api/v1/mail' })).json.mail as Array<{ entry: string, subject: string }>
    assert.equal(mails.length, 23)
    assert.equal(new Set(mails.map(m => m.entry)).size, 23, 'no mail twice')
    assert.equal(all.events.filter(e => e.event === 'mail').length, 23, 'one mail event per mail')
    assert.deepEqual((await callApi(aliceApi, { path: '/api/v1/outbox' })).json.outbox, [])

    // Alice's daemon keeps 5 events: asking from 1 is a reset (then live events).
    const reset = await readEvents(aliceApi, { lastEventId: '1' })
    readers.push(reset)
    const first2 = await reset.next()
    assert.equal(first2.event, 'reset')
    assert.deepEqual(first2.data, { last: aliceDaemon.events.last() })
    assert.equal(first2.id, String(aliceDaemon.events.last()))
    const bad = await callApi(aliceApi, { path: '/api/v1/events', headers: { 'Last-Event-ID': 'abc' } })
    assert.equal(bad.status, 400)

    // The stream ends when the daemon stops, with its last events.
    await bobDaemon.stop()
    await all.next(e => e.event === 'stopped')
    await waitEnd(all)
  } finally {
    for (const r of readers) r.close()
    for (const d of daemons.reverse()) await d.stop()
  }
})

async function waitEnd (reader: { ended: () => boolean, next: (m?: (e: unknown) => boolean, t?: number) => Promise<unknown> }): Promise<void> {
  await assert.rejects(reader.next(() => false, 30_000), /ended/)
}
