/**
 * /ipms/sync between real nodes on 127.0.0.1: offline delivery through a host, prune reaching the
 * host, two hosts with one stopped for good, many concurrent heads, live push.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { openMail } from '../../src/mail/seal.ts'
import { mailPayload, signEntry, stampedMail } from '../helpers/inbox.ts'
import { connect, DEFAULT_WAIT_MS, makeTempHome } from '../helpers/nodes.ts'
import { putMail, replicaPool } from '../helpers/replicas.ts'
import { createGrant } from '../../src/hosting/grant.ts'
import { SyncRefusedError } from '../../src/errors.ts'
import { SYNC_PROTOCOL } from '../../src/node/sync.ts'
import type { JoinEntry } from '../../src/stores/orbitdb/mailbox.ts'
import { waitFor } from '../helpers/wait.ts'
import { openInbox, orbitLog } from '../../src/stores/orbitdb/open-inbox.ts'

const BITS = 8
let owner: Identity, alice: Identity, carol: Identity
const replica = replicaPool()
before(async () => { [owner, alice, carol] = await Promise.all([createIdentity(), createIdentity(), createIdentity()]) })
after(replica.stopAll)


/** Resolve when `check()` holds, re-checking on each `event` of `emitter`; reject at the deadline. */
async function until (emitter: NodeJS.EventEmitter, event: string, check: () => Promise<boolean>, ms = DEFAULT_WAIT_MS): Promise<void> {
  await waitFor([[emitter, event]], check, AbortSignal.timeout(ms))
}

describe('offline delivery through a host', () => {
  test('mail left on a host while the owner was offline is read by the owner later; prune reaches the host', async () => {
    const host = await replica()
    const hostInbox = await host.inbox(owner.peerId, BITS)
    const sent = [await putMail(hostInbox, alice, 'hello from alice'), await putMail(hostInbox, carol, 'hello from carol')]

    // The owner comes online later (the senders are long gone), syncs from the host alone.
    const me = await replica({ identity: owner })
    const myInbox = await me.inbox(owner.peerId, BITS)
    await connect(me.node, host.node)
    const announced: string[] = []
    myInbox.events.on('mail', (mail: { hash: string }) => announced.push(mail.hash))
    const result = await me.sync.syncWith(host.node.peerId, myInbox)
    assert.equal(result.joined > 0, true)
    assert.deepEqual(announced.sort(), sent.map(s => s.hash).sort(), "a 'mail' event for each mail that came by replication")
    assert.equal(result.envelopes, 2)
    const pending = await myInbox.pending()
    assert.deepEqual(pending.map(m => m.hash).sort(), sent.map(s => s.hash).sort())
    const senders = []
    for (const mail of pending) {
      const opened = openMail((await myInbox.getEnvelope(mail.env))!, { identity: owner, inbox: myInbox.address })
      senders.push(opened.from)
    }
    assert.deepEqual(senders.sort(), [alice.peerId, carol.peerId].sort())

    // Prune: the PRUNE entry is pushed to the host, which drops the envelopes; entries stay.
    await myInbox.prune(pending.map(m => m.hash), owner.seed)
    await until(hostInbox.events, 'pruned', async () => (await hostInbox.pending()).length === 0 && !(await hostInbox.hasEnvelope(sent[0]!.env)) && !(await hostInbox.hasEnvelope(sent[1]!.env)))
    assert.ok(await hostInbox.get(sent[0]!.hash), 'the MAIL entry stays in the host log')
    assert.deepEqual(await myInbox.pending(), [])
  })
})

describe('two hosts', () => {
  test('mail written on H1 reaches H2; H1 stops for good; the owner gets everything from H2', async () => {
    const h1 = await replica({ grantsFrom: [owner] })
    const h2 = await replica({ grantsFrom: [owner] })
    const inbox1 = await h1.inbox(owner.peerId, BITS)
    const inbox2 = await h2.inbox(owner.peerId, BITS)
    await connect(h2.node, h1.node)
    await h2.sync.syncWith(h1.node.peerId, inbox2) // the hosts now replicate each other
    const sent = []
    for (let i = 0; i < 5; i++) sent.push(await putMail(inbox1, alice, `mail ${i}`))
    // Pushed live from H1 to H2.
    await until(inbox2.events, 'synced', async () => (await inbox2.pending()).length === 5 && (await h2.sync.missingEnvelopes(inbox2)).length === 0)
    await h1.cleanup()

    const me = await replica({ identity: owner })
    const myInbox = await me.inbox(owner.peerId, BITS)
    await connect(me.node, h2.node)
    await me.sync.syncWith(h2.node.peerId, myInbox)
    const pending = await myInbox.pending()
    assert.equal(pending.length, 5)
    const bodies = await Promise.all(pending.map(async m => openMail((await myInbox.getEnvelope(m.env))!, { identity: owner, inbox: myInbox.address }).body))
    assert.deepEqual(bodies.sort(), sent.map((_, i) => `mail ${i}`).sort())
  })

  test('an envelope a host lacked when it closed the inbox is asked for in its first session after reopening it', async () => {
    const h1 = await replica({ grantsFrom: [owner] })
    const h2 = await replica({ grantsFrom: [owner] })
    const inbox1 = await h1.inbox(owner.peerId, BITS)
    const inbox2 = await h2.inbox(owner.peerId, BITS)
    // The same entry on both hosts; its envelope on H1 only (H2 joined it without).
    const { mail, envelope } = await stampedMail(alice, owner.peerId, BITS, 'held by one host')
    const writer = await h1.node.orbitdb.identities.createIdentity({ id: 'a-writer' })
    const { hash, bytes, entry } = await signEntry(writer, { id: inbox1.address, payload: mail })
    await inbox1.putEnvelope(mail.env, envelope)
    for (const inbox of [inbox1, inbox2]) assert.deepEqual((await inbox.joinHeads([{ hash, needed: [{ hash, bytes, entry: entry as unknown as JoinEntry['entry'] }] }])).refused, [])
    assert.deepEqual(await h2.sync.missingEnvelopes(inbox2), [mail.env])
    // H2 closes the inbox (as a host closes an idle one) and opens it again later.
    h2.sync.unregister(inbox2)
    await inbox2.close()
    const reopened = await openInbox(h2.node.orbitdb, owner.peerId, BITS)
    await h2.sync.register(reopened)
    try {
      // A failed reading of what it lacks (a LevelDB error) is not kept: the next asks again.
      const lackingEnvelopes = reopened.lackingEnvelopes
      reopened.lackingEnvelopes = async () => { throw new Error('Database failed to read') }
      await assert.rejects(h2.sync.missingEnvelopes(reopened), /Database failed to read/)
      reopened.lackingEnvelopes = lackingEnvelopes
      assert.deepEqual(await h2.sync.missingEnvelopes(reopened), [mail.env])
      await connect(h2.node, h1.node)
      // Same heads on both sides: the envelope can only come because H2 asks for it.
      const result = await h2.sync.syncWith(h1.node.peerId, reopened)
      assert.equal(result.joined, 0)
      assert.equal(result.envelopes, 1)
      assert.ok(await reopened.hasEnvelope(mail.env))
      assert.deepEqual(await h2.sync.missingEnvelopes(reopened), [])
    } finally {
      h2.sync.unregister(reopened)
      await reopened.close()
    }
  })

  test('an inbox with 50 concurrent heads (50 writers that never saw each other) syncs without error', async () => {
    const host = await replica()
    const inbox = await host.inbox(owner.peerId, BITS)
    const identities = host.node.orbitdb.identities
    for (let i = 0; i < 50; i++) {
      const writer = await identities.createIdentity({ id: `writer-${i}` })
      const { hash, bytes, entry } = await signEntry(writer, { id: inbox.address, payload: mailPayload(inbox.address, BITS, { ts: 1767225600000 + i }) })
      const { refused } = await inbox.joinHeads([{ hash, needed: [{ hash, bytes, entry: entry as unknown as JoinEntry['entry'] }] }])
      assert.deepEqual(refused, [])
    }
    assert.equal((await inbox.heads()).length, 50)
    const me = await replica({ identity: owner })
    const myInbox = await me.inbox(owner.peerId, BITS)
    await connect(me.node, host.node)
    const result = await me.sync.syncWith(host.node.peerId, myInbox)
    assert.equal(result.refused, 0)
    assert.equal((await myInbox.heads()).length, 50)
    assert.equal((await myInbox.pending()).length, 50)
  })
})

describe('only authorized replicas', () => {
  test('the owner syncs without a grant; a host with the owner\'s grant syncs; a peer without one, or with an expired one, or another owner\'s, is refused and learns nothing', async () => {
    const host = await replica({ grantsFrom: [owner] })
    const hostInbox = await host.inbox(owner.peerId, BITS)
    await putMail(hostInbox, alice, 'for replicas the owner chose')

    const me = await replica({ identity: owner })
    await connect(me.node, host.node)
    assert.equal((await me.sync.syncWith(host.node.peerId, await me.inbox(owner.peerId, BITS))).joined, 1)

    const friend = await replica({ grantsFrom: [owner] })
    await connect(friend.node, host.node)
    assert.equal((await friend.sync.syncWith(host.node.peerId, await friend.inbox(owner.peerId, BITS))).joined, 1)

    const stranger = await replica()
    const lateIdentity = await createIdentity()
    const expired = await replica({ identity: lateIdentity, grantFor: () => createGrant(owner, lateIdentity.peerId, { ttlMs: 1, now: 1 }) })
    const otherOwners = await replica({ grantsFrom: [carol] })
    for (const peer of [stranger, expired, otherOwners]) {
      await connect(peer.node, host.node)
      const inbox = await peer.inbox(owner.peerId, BITS)
      await assert.rejects(peer.sync.syncWith(host.node.peerId, inbox), SyncRefusedError)
      assert.deepEqual(await inbox.pending(), [], 'nothing learnt')
    }
  })
})

describe('a long session', () => {
  test('a catch-up of 2,100 entries (more than one write group of a join) ends with the host\'s heads, every entry pinned and every envelope, also after a restart', async (t) => {
    const COUNT = 2_100
    const host = await replica()
    const hostInbox = await host.inbox(owner.peerId, BITS)
    const mails = await Promise.all(Array.from({ length: COUNT }, async (_, i) => await stampedMail(alice, owner.peerId, BITS, `mail ${i}`)))
    // Many deliveries at once, as a busy host takes them: chains of grouped appends.
    for (let i = 0; i < COUNT; i += 256) await Promise.all(mails.slice(i, i + 256).map(async m => await hostInbox.addMail(m.mail, { env: m.mail.env, cid: CID.parse(m.mail.env), bytes: m.envelope })))
    const hostHeads = (await hostInbox.heads()).map((h: { hash: string }) => h.hash).sort()

    const home = await makeTempHome()
    t.after(async () => { await rm(home, { recursive: true, force: true }) })
    let me = await replica({ identity: owner, home })
    let myInbox = await me.inbox(owner.peerId, BITS)
    await connect(me.node, host.node)
    const result = await me.sync.syncWith(host.node.peerId, myInbox)
    assert.deepEqual({ refused: result.refused, envelopes: result.envelopes }, { refused: 0, envelopes: COUNT })
    const check = async (): Promise<void> => {
      assert.deepEqual((await myInbox.heads()).map((h: { hash: string }) => h.hash).sort(), hostHeads)
      const entries: string[] = []
      for await (const entry of orbitLog(myInbox).iterator()) entries.push(entry.hash)
      assert.equal(new Set(entries).size, COUNT, 'every entry is reachable from the heads')
      assert.equal((await myInbox.pending()).length, COUNT)
      for (const hash of [entries[0]!, entries[COUNT >> 1]!, entries[COUNT - 1]!]) assert.equal(await me.node.helia.pins.isPinned(CID.parse(hash, base58btc)), true, `${hash} is pinned`)
      for (const m of [mails[0]!, mails[COUNT - 1]!]) assert.equal(await myInbox.hasEnvelope(m.mail.env), true)
    }
    await check()
    await me.cleanup()
    me = await replica({ identity: owner, home })
    myInbox = await me.inbox(owner.peerId, BITS)
    await check()
  })

  test('a join that outlasts the other side\'s session deadline (10,000 entries: 11 s) does not end the session: both sides finish cleanly', async () => {
    // The host gives a session 1.5 s; the owner's join of what it received lasts until the host's
    // side of the session is over (at the latest, its deadline): a join as slow as 10,000 entries'.
    const host = await replica({ syncTimeoutMs: 1_500 })
    const hostInbox = await host.inbox(owner.peerId, BITS)
    const sent = [await putMail(hostInbox, alice, 'one'), await putMail(hostInbox, carol, 'two')]
    const me = await replica({ identity: owner })
    const myInbox = await me.inbox(owner.peerId, BITS)
    await connect(me.node, host.node)
    const hostSessionOver = async (): Promise<void> => {
      const open = (): boolean => host.node.libp2p.getConnections(me.node.libp2p.peerId)
        .some(c => c.streams.some(s => s.protocol === SYNC_PROTOCOL && s.status === 'open'))
      const sources = host.node.libp2p.getConnections(me.node.libp2p.peerId).flatMap(c => c.streams.filter(s => s.protocol === SYNC_PROTOCOL))
      await waitFor(sources.map(s => [s, 'close'] as [EventTarget, string]), () => !open(), AbortSignal.timeout(DEFAULT_WAIT_MS))
    }
    const join = myInbox.joinHeads
    myInbox.joinHeads = async (...args: Parameters<typeof join>) => { await hostSessionOver(); return await join(...args) }
    const hostSynced = new Promise(resolve => hostInbox.events.once('synced', resolve))

    const result = await me.sync.syncWith(host.node.peerId, myInbox)
    assert.equal(result.refused, 0)
    assert.deepEqual((await myInbox.pending()).map(m => m.hash).sort(), sent.map(s => s.hash).sort())
    assert.deepEqual(await hostSynced, { joined: 0, refused: 0, envelopes: 0 }, 'the host ended its side of the session, not at its deadline')
  })
})
