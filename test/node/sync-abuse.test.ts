/**
 * /ipms/sync against hostile peers, on real nodes on 127.0.0.1: garbage and oversize frames,
 * malformed hellos, blocks that do not match their CIDs, a peer that stops mid-batch, a hostile
 * replica offering forged entries, and an unauthorised peer.
 *
 * Each attack is made with raw frames on a stream an attacker node opens to the honest replica H.
 * After each one H must have refused (a `refused` message or an aborted stream), be unchanged
 * (heads, pending mail, envelopes; nothing of the bad session joined), and keep serving: an honest
 * `syncWith` from the owner's node right after still brings it H's new mail, which the owner reads.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import { Entry } from '@orbitdb/core'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Stream, StreamCloseEvent } from '@libp2p/interface'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { signPrune } from '../../src/access/payloads.ts'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { openMail, sealMail } from '../../src/mail/seal.ts'
import { MAX_SYNC_FRAME_BYTES, MAX_SYNC_LIST, SYNC_PROTOCOL } from '../../src/node/sync.ts'
import { deliverTo } from '../../src/node/deliver.ts'
import { FORMAT_VERSION } from '../../src/constants.ts'
import { DeliveryRefusedError, EnvelopeSizeError, SyncRefusedError } from '../../src/errors.ts'
import { powChallenge, solvePowSync } from '../../src/crypto/pow/index.ts'
import type { Inbox } from '../../src/stores/orbitdb/open-inbox.ts'
import { failingPow, mailPayload, randomEntryHash, signEntry } from '../helpers/inbox.ts'
import { connect, DEFAULT_WAIT_MS } from '../helpers/nodes.ts'
import { putMail, replicaPool, type Replica } from '../helpers/replicas.ts'
import { createGrant } from '../../src/hosting/grant.ts'
import { orbitLog } from '../../src/stores/orbitdb/open-inbox.ts'

const BITS = 8
const V = FORMAT_VERSION

let owner: Identity, alice: Identity, carol: Identity
/** H: the honest replica under attack; me: the owner's node; attacker: sends the raw frames. */
let H: Replica, me: Replica, attacker: Replica
let hInbox: Inbox, myInbox: Inbox
const replica = replicaPool()


before(async () => {
  [owner, alice, carol] = await Promise.all([createIdentity(), createIdentity(), createIdentity()])
  // The attacker holds a grant from the owner: a granted host gone bad, the worst case for H.
  ;[H, me, attacker] = await Promise.all([replica({ grantsFrom: [owner] }), replica({ identity: owner }), replica({ grantsFrom: [owner] })])
  hInbox = await H.inbox(owner.peerId, BITS)
  myInbox = await me.inbox(owner.peerId, BITS)
  await putMail(hInbox, alice, 'first, before any attack')
  await putMail(hInbox, carol, 'second, before any attack')
  await Promise.all([connect(attacker.node, H.node), connect(me.node, H.node)])
})
after(replica.stopAll)

// ── waiting with a deadline ─────────────────────────────────────────────────────────────────

async function deadline<T> (promise: Promise<T>, what: string, ms = DEFAULT_WAIT_MS): Promise<T> {
  const signal = AbortSignal.timeout(ms)
  let onAbort = (): void => {}
  const expired = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(new Error(`timed out after ${ms} ms waiting for ${what}`)) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, expired])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/** The next `event` of `emitter` (its first argument), within the deadline. */
async function nextEvent<T> (emitter: NodeJS.EventEmitter, event: string, ms = DEFAULT_WAIT_MS): Promise<T> {
  let listener = (_value: T): void => {}
  const seen = new Promise<T>(resolve => { listener = resolve; emitter.once(event, listener) })
  try {
    return await deadline(seen, `"${event}"`, ms)
  } finally {
    emitter.off(event, listener)
  }
}

/** Resolve when `check()` holds, re-checked on each `event` of `emitter`; reject at the deadline. */
async function until (emitter: NodeJS.EventEmitter, event: string, check: () => Promise<boolean>, ms = DEFAULT_WAIT_MS): Promise<void> {
  let onEvent = (): void => {}
  const holds = new Promise<void>((resolve, reject) => {
    onEvent = () => { void check().then(ok => { if (ok) resolve() }, reject) }
    emitter.on(event, onEvent)
    onEvent()
  })
  try {
    await deadline(holds, `"${event}" until the condition holds`, ms)
  } finally {
    emitter.off(event, onEvent)
  }
}

/** Resolve once every /ipms/sync stream between `server` and `client` has ended (the server's sessions are over). */
async function sessionsOver (server: Replica, client: Replica): Promise<void> {
  const open = server.node.libp2p.getConnections(client.node.libp2p.peerId)
    .flatMap(c => c.streams)
    .filter(s => s.protocol === SYNC_PROTOCOL && (s.status === 'open' || s.status === 'closing'))
  await deadline(Promise.all(open.map(async s => await new Promise(resolve => { s.addEventListener('close', resolve, { once: true }) }))), 'the sync sessions to end')
}

// ── a raw /ipms/sync client ─────────────────────────────────────────────────────────────────

interface Raw {
  stream: Stream
  lp: LengthPrefixedStream<Stream>
  /** The stream's close event: `error` is set when it was reset (by H) or aborted. */
  closed: Promise<StreamCloseEvent>
}

interface Message { v: number, t: string, heads?: string[], have?: string[], want?: string[], blocks?: Array<{ c: Uint8Array, b: Uint8Array }>, code?: string, reason?: string }

/** Every raw stream opened, so that a failed test leaves none open behind it. */
const raws = new Set<Stream>()

async function dialRaw (from: Replica, to: Replica): Promise<Raw> {
  const stream = await from.node.libp2p.dialProtocol(to.node.libp2p.peerId, SYNC_PROTOCOL, { signal: AbortSignal.timeout(DEFAULT_WAIT_MS) })
  raws.add(stream)
  const closed = new Promise<StreamCloseEvent>(resolve => { stream.addEventListener('close', resolve, { once: true }) })
  return { stream, lp: lpStream(stream, { maxDataLength: MAX_SYNC_FRAME_BYTES }), closed }
}

async function send (raw: Raw, message: unknown): Promise<void> {
  await raw.lp.write(dagCbor.encode(message), { signal: AbortSignal.timeout(DEFAULT_WAIT_MS) })
}

async function receive (raw: Raw): Promise<Message> {
  return dagCbor.decode((await raw.lp.read({ signal: AbortSignal.timeout(DEFAULT_WAIT_MS) })).subarray())
}

/**
 * How H answered a bad opening: `refused` (a refused message, then the stream closed) or `aborted`
 * (the stream reset without a frame). Anything else (blocks, end) fails the test.
 */
async function answer (raw: Raw): Promise<'refused' | 'aborted'> {
  let message: Message
  try {
    message = await receive(raw)
  } catch {
    const event = await deadline(raw.closed, 'the stream to close')
    assert.ok(event.error !== undefined && event.local !== true, 'H reset the stream')
    return 'aborted'
  }
  assert.equal(message.t, 'refused', `H answered "${message.t}" to a bad opening`)
  assert.equal(message.code, 'ERR_SYNC_REFUSED')
  await assert.rejects(receive(raw), 'nothing follows a refused message')
  return 'refused'
}

/** As a well-behaved initiator: read H's blocks until `end`. */
async function readUntilEnd (raw: Raw): Promise<{ blocks: number, end: Message }> {
  let blocks = 0
  for (;;) {
    const message = await receive(raw)
    if (message.t === 'end') return { blocks, end: message }
    assert.equal(message.t, 'blocks')
    blocks += message.blocks?.length ?? 0
    await send(raw, { v: V, t: 'ack' })
  }
}

/** A hello as the attacker sends it: with its grant from the inbox's owner. */
function hello (inbox: Inbox, fields: Record<string, unknown> = {}): Record<string, unknown> {
  const grant = dagCbor.encode(createGrant(owner, attacker.node.peerId))
  const message: Record<string, unknown> = { v: V, t: 'hello', inbox: inbox.address, heads: [], have: [], want: [], grant, ...fields }
  for (const key of Object.keys(message)) if (message[key] === undefined) delete message[key] // absent, not undefined (not IPLD)
  return message
}

async function readBlock (r: Replica, cid: CID): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const chunk of r.node.helia.blockstore.get(cid, { offline: true }) as AsyncIterable<Uint8Array>) chunks.push(chunk)
  return new Uint8Array(Buffer.concat(chunks))
}

// ── forged entries ──────────────────────────────────────────────────────────────────────────

interface Forged { hash: string, cid: CID, bytes: Uint8Array }

/** Clock times of the entries forged here, by hash (their parents' times make their clocks). */
const forgedTimes = new Map<string, number>()

/**
 * An entry of `inbox` signed by `by`'s OrbitDB identity on the entries `next` (forged here or in
 * `inbox`'s log), of the shape the rules want, written nowhere: what a hostile replica can make.
 */
async function forge (by: Replica, inbox: Inbox, payload: unknown, next: string[]): Promise<Forged> {
  const parents = await Promise.all(next.map(async hash => ({ hash, time: forgedTimes.get(hash) ?? (await inbox.get(hash))!.clock.time })))
  const forged = await signEntry(by.node.orbitdb.identity, { id: inbox.address, payload, parents })
  forgedTimes.set(forged.hash, (forged.entry.clock as { time: number }).time)
  return forged
}

const block = (f: { cid: CID, bytes: Uint8Array }): { c: Uint8Array, b: Uint8Array } => ({ c: f.cid.bytes, b: f.bytes })

async function headHashes (inbox: Inbox): Promise<string[]> {
  return ((await inbox.heads()) as Array<{ hash: string }>).map(h => h.hash).sort()
}

// ── H's state, and H still serving ──────────────────────────────────────────────────────────

interface State { heads: string[], pending: string[], envelopes: boolean[] }

async function state (inbox: Inbox): Promise<State> {
  const pending = await inbox.pending()
  return {
    heads: await headHashes(inbox),
    pending: pending.map(m => m.hash).sort(),
    envelopes: await Promise.all(pending.map(async m => await inbox.hasEnvelope(m.env)))
  }
}

/** H is unchanged since `before`, and none of `hashes` is in its log. */
async function assertUnchanged (before: State, hashes: string[] = []): Promise<void> {
  const now = await state(hInbox)
  assert.deepEqual(now.heads, before.heads, 'H\'s heads changed')
  assert.deepEqual(now.pending, before.pending, 'H\'s pending mail changed')
  assert.deepEqual(now.envelopes, before.envelopes, 'H lost or gained envelopes')
  for (const hash of hashes) assert.equal(await hInbox.has(hash), false, `${hash} was joined`)
}

let serving = 0
/** New mail on H reaches the owner's node by an honest syncWith, and the owner reads it. */
async function assertStillServing (): Promise<void> {
  const body = `still serving ${++serving}`
  const mail = await putMail(hInbox, alice, body)
  await me.sync.syncWith(H.node.peerId, myInbox)
  await assertOwnerReads(mail, body)
}

/**
 * The owner's node has H's pending mail and can read `mail`. Waits for it: H also pushes its new
 * heads to the owner's node, and a push that joined an entry but has not yet stored its envelope
 * makes the owner's own syncWith skip that envelope (the push brings it a moment later).
 */
async function assertOwnerReads (mail: { hash: string, env: string }, body: string): Promise<void> {
  const expected = (await hInbox.pending()).map(m => m.hash).sort()
  await until(myInbox.events, 'synced', async () => {
    const pending = (await myInbox.pending()).map(m => m.hash).sort()
    return pending.length === expected.length && pending.every((h, i) => h === expected[i]) && await myInbox.hasEnvelope(mail.env)
  })
  const envelope = await myInbox.getEnvelope(mail.env)
  assert.ok(envelope, 'the owner has the new envelope')
  assert.equal(openMail(envelope, { identity: owner, inbox: myInbox.address }).body, body)
}

/** Make sure the attacker is done (its stream reset or closed) and H's side of it too. */
async function finish (): Promise<void> {
  for (const stream of raws) if (stream.status === 'open' || stream.status === 'closing') stream.abort(new Error('the attacker is done'))
  raws.clear()
  await sessionsOver(H, attacker)
}

/**
 * H's result of the next session that joins or refuses something: the attacker's (H also syncs
 * with the owner's node meanwhile, pushes whose sessions join and refuse nothing).
 */
async function attackerSessionResult (): Promise<{ joined: number, refused: number, envelopes: number }> {
  let onSynced = (_result: { joined: number, refused: number, envelopes: number }): void => {}
  return await deadline(new Promise<{ joined: number, refused: number, envelopes: number }>(resolve => {
    onSynced = result => { if (result.joined + result.refused > 0) resolve(result) }
    hInbox.events.on('synced', onSynced)
  }), 'H to end the attacker\'s session').finally(() => { hInbox.events.off('synced', onSynced) })
}

/** The attacker offers `heads` with `blocks` over a raw session; H's 'synced' result. */
async function offer (heads: string[], blocks: Array<{ c: Uint8Array, b: Uint8Array }>): Promise<{ joined: number, refused: number }> {
  const synced = attackerSessionResult()
  const raw = await dialRaw(attacker, H)
  await send(raw, hello(hInbox, { heads, have: await headHashes(hInbox) }))
  await readUntilEnd(raw)
  await send(raw, { v: V, t: 'blocks', blocks })
  await send(raw, { v: V, t: 'done' })
  await raw.stream.close({ signal: AbortSignal.timeout(DEFAULT_WAIT_MS) })
  const { joined, refused } = await synced
  await finish()
  return { joined, refused }
}

// ── the attacks ─────────────────────────────────────────────────────────────────────────────

describe('garbage and malformed frames', () => {
  const openings: Array<[string, Uint8Array, Array<'refused' | 'aborted'>]> = [
    ['random bytes (starting 0xff: never CBOR)', Uint8Array.from([0xff, 0xfe, ...crypto.getRandomValues(new Uint8Array(254))]), ['aborted']],
    ['1 KiB of random bytes', crypto.getRandomValues(new Uint8Array(1024)), ['aborted', 'refused']],
    ['dag-cbor of an unknown type { v: 1, t: "nonsense" }', dagCbor.encode({ v: 1, t: 'nonsense' }), ['refused', 'aborted']],
    ['a hello of another version { v: 2, t: "hello" }', dagCbor.encode({ v: 2, t: 'hello' }), ['refused', 'aborted']],
    ['a dag-cbor list', dagCbor.encode([1, 'hello', { v: 1, t: 'hello' }]), ['refused', 'aborted']],
    ['a dag-cbor string', dagCbor.encode('hello'), ['refused', 'aborted']],
    ['an empty frame', new Uint8Array(0), ['refused', 'aborted']]
  ]
  for (const [name, frame, accepted] of openings) {
    test(`${name} as the first frame: ${accepted.join(' or ')}; H unchanged and still serving`, async () => {
      const before = await state(hInbox)
      const raw = await dialRaw(attacker, H)
      await raw.lp.write(frame)
      const outcome = await answer(raw)
      assert.ok(accepted.includes(outcome), `${outcome} is not one of ${accepted.join(', ')}`)
      await finish()
      await assertUnchanged(before)
      await assertStillServing()
    })
  }

  test('a hello for an inbox H does not serve gets refused, and H keeps serving', async () => {
    const before = await state(hInbox)
    for (const inbox of [`/orbitdb/${randomEntryHash()}`, 42, undefined]) {
      const raw = await dialRaw(attacker, H)
      await send(raw, hello(hInbox, { inbox }))
      assert.equal(await answer(raw), 'refused')
      await finish()
    }
    await assertUnchanged(before)
    await assertStillServing()
  })

  test('a hello with malformed heads, have or want, or lists longer than MAX_SYNC_LIST: no block is sent, H keeps serving', async () => {
    const before = await state(hInbox)
    const tooMany = Array.from({ length: MAX_SYNC_LIST + 1 }, () => randomEntryHash())
    const hellos = [
      hello(hInbox, { heads: ['not an entry hash'] }),
      hello(hInbox, { heads: [CID.parse(randomEntryHash(), base58btc).toString()] }), // base32, not the entry form
      hello(hInbox, { heads: [new Uint8Array(34)] }),
      hello(hInbox, { heads: 'zdpu' }),
      hello(hInbox, { heads: undefined }),
      hello(hInbox, { heads: tooMany }),
      hello(hInbox, { have: tooMany }),
      hello(hInbox, { have: [1, 2, 3] }),
      hello(hInbox, { want: ['not a cid'] }),
      hello(hInbox, { want: [randomEntryHash()] }) // an entry hash is not an envelope CID
    ]
    for (const message of hellos) {
      const raw = await dialRaw(attacker, H)
      await send(raw, message)
      await answer(raw)
      await finish()
    }
    await assertUnchanged(before)
    await assertStillServing()
  })
})

describe('oversize frames', () => {
  /** The unsigned varint of `n`. */
  const varint = (n: number): number[] => {
    const bytes: number[] = []
    while (n >= 0x80) { bytes.push((n % 0x80) | 0x80); n = Math.floor(n / 0x80) }
    bytes.push(n)
    return bytes
  }

  test('a length prefix above MAX_SYNC_FRAME_BYTES: H aborts the stream before reading the frame', async () => {
    const before = await state(hInbox)
    const raw = await dialRaw(attacker, H)
    raw.stream.send(Uint8Array.from([...varint(MAX_SYNC_FRAME_BYTES + 1), ...new Uint8Array(1024)]))
    assert.equal(await answer(raw), 'aborted')
    await finish()
    await assertUnchanged(before)
    await assertStillServing()
  })

  test('a length prefix longer than any frame needs (a 5-byte varint): H aborts the stream', async () => {
    const before = await state(hInbox)
    const raw = await dialRaw(attacker, H)
    raw.stream.send(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x01, 0, 0, 0]))
    assert.equal(await answer(raw), 'aborted')
    await finish()
    await assertUnchanged(before)
    await assertStillServing()
  })

  test('a length prefix that never ends (0xff bytes): H aborts the stream at once, not at its session deadline', async () => {
    const before = await state(hInbox)
    const raw = await dialRaw(attacker, H)
    raw.stream.send(new Uint8Array(64).fill(0xff))
    const event = await deadline(raw.closed, 'H to abort the stream', 3_000)
    assert.ok(event.error !== undefined && event.local !== true, 'H reset the stream')
    await finish()
    await assertUnchanged(before)
    await assertStillServing()
  })

  test('an oversize blocks frame after a good hello: H aborts, joins nothing', async () => {
    const before = await state(hInbox)
    const entry = await forge(attacker, hInbox, mailPayload(hInbox.address, BITS), await headHashes(hInbox))
    const raw = await dialRaw(attacker, H)
    await send(raw, hello(hInbox, { heads: [entry.hash] }))
    await readUntilEnd(raw)
    raw.stream.send(Uint8Array.from([...varint(MAX_SYNC_FRAME_BYTES + 1), ...dagCbor.encode({ v: V, t: 'blocks', blocks: [block(entry)] })]))
    assert.equal(await answer(raw), 'aborted')
    await finish()
    await assertUnchanged(before, [entry.hash])
    await assertStillServing()
  })
})

describe('blocks that do not match their CIDs', () => {
  test('a named head sent with the bytes of another entry: H aborts and joins nothing of the session, not even its good blocks', async () => {
    const before = await state(hInbox)
    const heads = await headHashes(hInbox)
    // Three entries H would accept: the good one is sent correctly, `named` with `other`'s bytes.
    const [good, named, other] = await Promise.all([0, 1, 2].map(async i => await forge(attacker, hInbox, mailPayload(hInbox.address, BITS, { ts: 1767225600000 + i }), heads)))
    const raw = await dialRaw(attacker, H)
    await send(raw, hello(hInbox, { heads: [good!.hash, named!.hash, other!.hash] }))
    const { blocks, end } = await readUntilEnd(raw)
    assert.ok(blocks > 0, 'H sent its entries to a well-behaved initiator')
    assert.deepEqual([...(end.heads ?? [])].sort(), heads)
    await send(raw, { v: V, t: 'blocks', blocks: [block(good!), { c: named!.cid.bytes, b: other!.bytes }] })
    await send(raw, { v: V, t: 'done' }).catch(() => {}) // H may have reset the stream already
    assert.equal(await answer(raw), 'aborted')
    await finish()
    await assertUnchanged(before, [good!.hash, named!.hash, other!.hash])
    await assertStillServing()
  })

  test('a block under a CID of another codec or hash, and a malformed CID: H aborts', async () => {
    const before = await state(hInbox)
    const entry = await forge(attacker, hInbox, mailPayload(hInbox.address, BITS), await headHashes(hInbox))
    const rawCodec = CID.createV1(0x55, entry.cid.multihash) // same digest, raw codec
    for (const bad of [{ c: rawCodec.bytes, b: entry.bytes }, { c: new Uint8Array([1, 2, 3]), b: entry.bytes }, { c: 'zdpu', b: entry.bytes }]) {
      const raw = await dialRaw(attacker, H)
      await send(raw, hello(hInbox, { heads: [entry.hash] }))
      await readUntilEnd(raw)
      await send(raw, { v: V, t: 'blocks', blocks: [bad] })
      await send(raw, { v: V, t: 'done' }).catch(() => {})
      assert.equal(await answer(raw), 'aborted')
      await finish()
    }
    await assertUnchanged(before, [entry.hash])
    await assertStillServing()
  })
})

describe('a peer that stops mid-batch', () => {
  for (const how of ['aborts the stream', 'closes the stream without done']) {
    test(`it names four heads, sends two of them and ${how}: H joins nothing`, async () => {
      const before = await state(hInbox)
      const heads = await headHashes(hInbox)
      const entries = await Promise.all([0, 1, 2, 3].map(async i => await forge(attacker, hInbox, mailPayload(hInbox.address, BITS, { ts: 1767225700000 + i }), heads)))
      const raw = await dialRaw(attacker, H)
      await send(raw, hello(hInbox, { heads: entries.map(e => e.hash) }))
      await readUntilEnd(raw)
      await send(raw, { v: V, t: 'blocks', blocks: entries.slice(0, 2).map(block) })
      if (how === 'aborts the stream') raw.stream.abort(new Error('gone'))
      else await raw.stream.close({ signal: AbortSignal.timeout(DEFAULT_WAIT_MS) })
      await deadline(raw.closed, 'the stream to close')
      await finish()
      await assertUnchanged(before, entries.map(e => e.hash))
      await assertStillServing()
    })
  }
})

describe('a hostile replica', () => {
  test('entries written straight into its copy of the log (bad PoW, a PRUNE not by the owner, a valid MAIL on top) are offered to H and refused; honest mail still flows', async () => {
    const attackerInbox = await attacker.inbox(owner.peerId, BITS)
    await attacker.sync.syncWith(H.node.peerId, attackerInbox) // a replica like any other, so far
    assert.deepEqual(await headHashes(attackerInbox), await headHashes(hInbox))
    const before = await state(hInbox)
    const heads = before.heads
    const good = mailPayload(hInbox.address, BITS)

    // Its own copy of the log, written bypassing `add`: the entries go to its blockstore only, as
    // `joinEntry` (the controller) would refuse them there too.
    const badPow = await forge(attacker, hInbox, { ...good, pow: failingPow(good, hInbox.address, BITS) }, heads)
    const notOwners = await forge(attacker, hInbox, signPrune(hInbox.address, before.pending, Date.now(), alice.seed), [badPow.hash])
    const sealed = await sealMail({ subject: 'on top', body: 'a valid mail on top of forged entries' }, { from: carol, to: owner.peerId, inbox: hInbox.address })
    const ts = Date.now()
    const pow = solvePowSync(powChallenge({ bits: BITS, ts, inbox: hInbox.address, envelopeCid: sealed.cid }), BITS)
    const onTop = await forge(attacker, hInbox, { op: 'MAIL', v: 1, env: sealed.cid.toString(), size: sealed.envelope.byteLength, ts, pow }, [notOwners.hash])
    // And a PRUNE of H's pending mail, not signed by the owner, straight on H's heads.
    const prune = await forge(attacker, hInbox, signPrune(hInbox.address, before.pending, Date.now(), carol.seed), heads)
    const forged = [badPow, notOwners, onTop, prune]
    for (const f of forged) {
      await assert.rejects(orbitLog(attackerInbox).joinEntry({ ...(await Entry.decode(f.bytes)), hash: f.hash }), /not allowed to write/)
      await attacker.node.helia.blockstore.put(f.cid, f.bytes)
    }
    await attacker.node.helia.blockstore.put(sealed.cid, sealed.envelope)

    // Offer them as heads, and send every block (read back from its blockstore) after H's end.
    const synced = attackerSessionResult()
    const raw = await dialRaw(attacker, H)
    await send(raw, hello(hInbox, { heads: [onTop.hash, prune.hash, badPow.hash], have: heads }))
    const { end } = await readUntilEnd(raw)
    assert.deepEqual([...(end.heads ?? [])].sort(), heads)
    const blocks = []
    for (const cid of [...forged.map(f => f.cid), sealed.cid]) blocks.push({ c: cid.bytes, b: await readBlock(attacker, cid) })
    await send(raw, { v: V, t: 'blocks', blocks })
    await send(raw, { v: V, t: 'done' })
    await raw.stream.close({ signal: AbortSignal.timeout(DEFAULT_WAIT_MS) })
    assert.deepEqual(await synced, { joined: 0, refused: 3, envelopes: 0 })
    assert.equal((await deadline(raw.closed, 'H to close the session')).error, undefined, 'a session that keeps to the protocol ends cleanly')
    await finish()
    await assertUnchanged(before, forged.map(f => f.hash))
    assert.equal(await hInbox.hasEnvelope(sealed.cid.toString()), false, 'the envelope of a refused entry is not kept')

    // Honest mail written afterwards on another honest node reaches H, then the owner, who reads it.
    const writer = await replica({ grantsFrom: [owner] })
    const writerInbox = await writer.inbox(owner.peerId, BITS)
    await connect(writer.node, H.node)
    await writer.sync.syncWith(H.node.peerId, writerInbox)
    const honest = await putMail(writerInbox, alice, 'honest mail after the hostile replica')
    await writer.sync.syncWith(H.node.peerId, writerInbox) // returns before H has joined what it sent
    await until(hInbox.events, 'synced', async () => (await hInbox.pending()).some(m => m.hash === honest.hash) && await hInbox.hasEnvelope(honest.env))
    await me.sync.syncWith(H.node.peerId, myInbox)
    await assertOwnerReads(honest, 'honest mail after the hostile replica')
    for (const f of forged) assert.equal(await myInbox.has(f.hash), false)
    await assertStillServing()
  })
})

describe('entries of a shape the rules refuse (issue #10, items 1 and 10)', () => {
  /** `entry`'s block with its top-level map keys in reverse order: the same value, signature still valid, another CID. */
  const unsorted = (entry: Record<string, unknown>): { cid: CID, bytes: Uint8Array } => {
    const { hash: _hash, ...stored } = entry
    const keys = Object.keys(stored).sort((a, b) => a.length - b.length || (a < b ? -1 : 1)).reverse()
    const parts = keys.flatMap(k => [dagCbor.encode(k), dagCbor.encode(stored[k])])
    const bytes = new Uint8Array(Buffer.concat([Uint8Array.from([0xa0 + keys.length]), ...parts]))
    return { cid: CID.create(1, dagCbor.code, sha256.digest(bytes) as Awaited<ReturnType<typeof sha256.digest>>), bytes }
  }

  test('a granted host pushes valid-stamp entries with clock.time 2^64 − 1, a huge next list, v 1, another id, a time that is not parent + 1, identity ≠ key, a non-canonical block: H refuses each, deliveries still get receipts, the owner still reads', async () => {
    const before = await state(hInbox)
    const identity = attacker.node.orbitdb.identity
    const parents = await Promise.all(before.heads.map(async hash => ({ hash, time: (await hInbox.get(hash))!.clock.time })))
    const next = parents.map(p => p.hash)
    const top = Math.max(...parents.map(p => p.time))
    let ts = 1767226000000
    const stamped = (): unknown => mailPayload(hInbox.address, BITS, { ts: ts++ })
    const base = { id: hInbox.address, parents }
    const honest = await signEntry(identity, { ...base, payload: stamped() })
    const reencoded = unsorted(honest.entry)
    const cases: Array<[string, { hash: string, c: Uint8Array, b: Uint8Array }]> = []
    const add = (name: string, e: { cid: CID, bytes: Uint8Array }): void => { cases.push([name, { hash: e.cid.toString(base58btc), c: e.cid.bytes, b: e.bytes }]) }
    add('clock.time 2^64 − 1', await signEntry(identity, { ...base, payload: stamped(), clock: { id: identity.publicKey, time: 2n ** 64n - 1n } }))
    add('5000 copies of a head in next', await signEntry(identity, { ...base, payload: stamped(), next: Array.from({ length: 5000 }, () => next[0]) }))
    add('v 1', await signEntry(identity, { ...base, payload: stamped(), v: 1 }))
    add('another inbox as id', await signEntry(identity, { ...base, id: `/orbitdb/${randomEntryHash()}`, payload: stamped() }))
    add('clock.time parent + 5', await signEntry(identity, { ...base, payload: stamped(), clock: { id: identity.publicKey, time: top + 5 } }))
    add('identity not its key', await signEntry(identity, { ...base, payload: stamped() }, { identity: randomEntryHash() }))
    add('a non-canonical block of a valid entry', reencoded)
    for (const [name, bad] of cases) {
      assert.deepEqual(await offer([bad.hash], [{ c: bad.c, b: bad.b }]), { joined: 0, refused: 1 }, name)
      assert.equal(await hInbox.has(bad.hash), false, `${name} was joined`)
    }
    // A child of a refused entry, itself well-formed, is refused with it.
    const child = await signEntry(identity, { id: hInbox.address, payload: stamped(), parents: [{ hash: reencoded.cid.toString(base58btc), time: top + 1 }] })
    assert.deepEqual(await offer([child.hash], [block(child), { c: reencoded.cid.bytes, b: reencoded.bytes }]), { joined: 0, refused: 1 })
    await assertUnchanged(before, [...cases.map(([, bad]) => bad.hash), child.hash])

    // Deliveries into H still get receipts, and the owner syncing from H reads its mail.
    const sealed = await sealMail({ subject: 'after', body: 'delivered after the bad entries' }, { from: alice, to: owner.peerId, inbox: hInbox.address })
    const mail = mailPayload(hInbox.address, BITS, { envelopeCid: sealed.cid, size: sealed.envelope.byteLength, ts: Date.now() })
    const receipt = await deliverTo(me.node.libp2p, H.node.peerId, { inbox: hInbox.address, mail, envelope: sealed.envelope })
    assert.equal(receipt.env, sealed.cid.toString())
    await me.sync.syncWith(H.node.peerId, myInbox)
    await assertOwnerReads({ hash: receipt.entry, env: receipt.env }, 'delivered after the bad entries')
    await assertStillServing()

    // The honest entry, in its canonical block, is still accepted: the refusals were for the shape.
    assert.deepEqual(await offer([honest.hash], [block(honest)]), { joined: 1, refused: 0 })
  })
})

describe('a head whose parent is never sent', () => {
  test('H refuses it at once, without fetching the parent from the network, and honest mail is not held up behind it', async () => {
    // A host of its own (alice's inbox), as the stall it shows lasts 30 s. It serves anyone:
    // authorization is not what this test is about.
    const host = await replica({ authorize: () => true })
    const hostInbox = await host.inbox(alice.peerId, BITS)
    await putMail(hostInbox, carol, 'on the host')
    await Promise.all([connect(attacker.node, host.node), connect(me.node, host.node)])
    const heads = await headHashes(hostInbox)
    const parent = await forge(attacker, hostInbox, mailPayload(hostInbox.address, BITS, { ts: 1767225800000 }), heads) // stored nowhere
    const child = await forge(attacker, hostInbox, mailPayload(hostInbox.address, BITS, { ts: 1767225800001 }), [parent.hash])

    const synced = nextEvent<{ joined: number, refused: number }>(hostInbox.events, 'synced', 3_000)
    synced.catch(() => {}) // awaited below
    const raw = await dialRaw(attacker, host)
    await send(raw, hello(hostInbox, { heads: [child.hash] }))
    await readUntilEnd(raw)
    await send(raw, { v: V, t: 'blocks', blocks: [block(child)] })
    await send(raw, { v: V, t: 'done' })
    await raw.stream.close({ signal: AbortSignal.timeout(DEFAULT_WAIT_MS) })

    // Meanwhile an honest replica brings the host new mail.
    const myAliceInbox = await me.inbox(alice.peerId, BITS)
    const honest = await putMail(myAliceInbox, carol, 'honest, right after the attack')
    await me.sync.syncWith(host.node.peerId, myAliceInbox)
    await until(hostInbox.events, 'synced', async () => (await hostInbox.pending()).some(m => m.hash === honest.hash), 3_000)
    assert.deepEqual(await synced, { joined: 0, refused: 1, envelopes: 0 })
    assert.equal(await hostInbox.has(child.hash), false)
  })
})

describe('an unauthorised peer', () => {
  test('its syncWith rejects with SyncRefusedError and it learns nothing; the allowed peer syncs', async () => {
    const allowed = me.node.peerId
    const host = await replica({ authorize: (peer) => peer === allowed })
    // An inbox the other nodes have not seen: the owner is carol.
    const hostInbox = await host.inbox(carol.peerId, BITS)
    const sent = await putMail(hostInbox, alice, 'only for allowed replicas')
    await Promise.all([connect(attacker.node, host.node), connect(me.node, host.node)])

    const deniedInbox = await attacker.inbox(carol.peerId, BITS)
    await assert.rejects(attacker.sync.syncWith(host.node.peerId, deniedInbox), (err: unknown) => {
      assert.ok(err instanceof SyncRefusedError)
      assert.equal(err.code, 'ERR_SYNC_REFUSED')
      return true
    })
    assert.deepEqual(await deniedInbox.heads(), [])
    assert.deepEqual(await deniedInbox.pending(), [])
    assert.equal(await attacker.node.helia.blockstore.has(CID.parse(sent.hash, base58btc)), false, 'no entry block reached it')
    assert.equal(await attacker.node.helia.blockstore.has(CID.parse(sent.env)), false, 'no envelope reached it')

    // Raw: the refusal for an inbox the host has is the refusal for one it does not have.
    const answers = []
    for (const inbox of [hostInbox.address, `/orbitdb/${randomEntryHash()}`]) {
      const raw = await dialRaw(attacker, host)
      await send(raw, { v: V, t: 'hello', inbox, heads: [], have: [], want: [sent.env] })
      answers.push(await receive(raw))
      await assert.rejects(receive(raw))
      if (raw.stream.status === 'open') raw.stream.abort(new Error('done'))
    }
    assert.equal(answers[0]!.t, 'refused')
    assert.deepEqual(answers[0], answers[1])

    const allowedInbox = await me.inbox(carol.peerId, BITS)
    const result = await me.sync.syncWith(host.node.peerId, allowedInbox)
    assert.equal(result.envelopes, 1)
    assert.deepEqual((await allowedInbox.pending()).map(m => m.hash), [sent.hash])

    // The refused peer is no replica of the host: new mail is pushed to the allowed one only.
    const next = await putMail(hostInbox, alice, 'pushed')
    await host.sync.idle()
    assert.deepEqual(await deniedInbox.pending(), [])
    assert.equal(await attacker.node.helia.blockstore.has(CID.parse(next.hash, base58btc)), false)
  })
})

describe('the frame cap is no session cap', () => {
  test('an honest inbox with 20 envelopes of ~1 MB (over 4 MiB in all) syncs to the owner', async () => {
    const dave = await createIdentity()
    const host = await replica({ authorize: () => true }) // dave's inbox, served to anyone here
    const hosted = await host.inbox(dave.peerId, BITS)
    for (let i = 0; i < 20; i++) await putMail(hosted, alice, String(i % 10).repeat(1_000_000))
    await connect(me.node, host.node)
    const mine = await me.inbox(dave.peerId, BITS)
    const result = await me.sync.syncWith(host.node.peerId, mine)
    assert.equal(result.envelopes, 20)
    assert.equal((await mine.pending()).length, 20)
  })
})

describe('an envelope larger than its entry states (the stamp paid for the stated size, §5.2)', () => {
  test('a granted host pushes an entry stating 1 KiB with a 200 KB envelope block: the entry joins, the envelope is stored by no way in, the mail stays "envelope missing"; an honest envelope still syncs', async () => {
    const env = await sealMail({ subject: 'big', body: 'x'.repeat(200_000) }, { from: alice, to: owner.peerId, inbox: hInbox.address })
    assert.ok(env.envelope.byteLength >= 200_000)
    const liar = await forge(attacker, hInbox, mailPayload(hInbox.address, BITS, { envelopeCid: env.cid, size: 1024, ts: Date.now() }), await headHashes(hInbox))
    assert.deepEqual(await offer([liar.hash], [block(liar), { c: env.cid.bytes, b: env.envelope }]), { joined: 1, refused: 0 })
    const cid = env.cid.toString()
    assert.ok((await hInbox.pending()).some(m => m.hash === liar.hash && m.size === 1024), 'the entry joined: its mail is pending')
    assert.equal(await hInbox.hasEnvelope(cid), false, 'the 200 KB envelope is not stored')
    assert.ok((await H.sync.missingEnvelopes(hInbox)).includes(cid), 'the mail stays without its envelope (the owner\'s read abandons it, §9.4)')

    // Nor by another way in: putEnvelope, or a delivery of it stamped for its real size (a replay).
    await assert.rejects(hInbox.putEnvelope(cid, env.envelope), (err: unknown) => err instanceof EnvelopeSizeError && err.code === 'ERR_BAD_ENVELOPE')
    const mail = mailPayload(hInbox.address, BITS, { envelopeCid: env.cid, size: env.envelope.byteLength, ts: Date.now() })
    await assert.rejects(deliverTo(me.node.libp2p, H.node.peerId, { inbox: hInbox.address, mail, envelope: env.envelope }), (err: unknown) => err instanceof DeliveryRefusedError && err.code === 'ERR_BAD_ENVELOPE')
    assert.equal(await hInbox.hasEnvelope(cid), false)

    // The same host's entry with an envelope of the size it states is kept.
    const fair = await sealMail({ subject: 'fair', body: 'y'.repeat(200_000) }, { from: alice, to: owner.peerId, inbox: hInbox.address })
    const honest = await forge(attacker, hInbox, mailPayload(hInbox.address, BITS, { envelopeCid: fair.cid, size: fair.envelope.byteLength, ts: Date.now() }), await headHashes(hInbox))
    assert.deepEqual(await offer([honest.hash], [block(honest), { c: fair.cid.bytes, b: fair.envelope }]), { joined: 1, refused: 0 })
    assert.equal(await hInbox.hasEnvelope(fair.cid.toString()), true, 'the honest envelope is stored')
    await assertStillServing()
  })
})

describe('a slow but steady peer, and a stalled one', () => {
  test('frames 700 ms apart for 3.5 s against a host that waits 1.5 s for a frame: the session goes on and its entry joins; a peer that then goes silent is cut', async () => {
    // A host of its own with a short wait for the next frame; it serves anyone (authorization is
    // not what this test is about).
    const host = await replica({ authorize: () => true, syncTimeoutMs: 1_500 })
    const hostInbox = await host.inbox(alice.peerId, BITS)
    await putMail(hostInbox, carol, 'on the host')
    await connect(attacker.node, host.node)
    const entry = await forge(attacker, hostInbox, mailPayload(hostInbox.address, BITS, { ts: 1767225900000 }), await headHashes(hostInbox))
    const synced = nextEvent<{ joined: number, refused: number, envelopes: number }>(hostInbox.events, 'synced')
    synced.catch(() => {}) // awaited below

    const raw = await dialRaw(attacker, host)
    await send(raw, hello(hostInbox, { heads: [entry.hash] }))
    await readUntilEnd(raw)
    // The peer's pace, not a wait for something: five frames, each after 700 ms, each acknowledged.
    const pause = async (): Promise<void> => { await new Promise(resolve => setTimeout(resolve, 700)) }
    for (let i = 0; i < 4; i++) {
      await pause()
      await send(raw, { v: V, t: 'blocks', blocks: [] })
      assert.equal((await receive(raw)).t, 'ack')
    }
    await pause()
    await send(raw, { v: V, t: 'blocks', blocks: [block(entry)] })
    assert.equal((await receive(raw)).t, 'ack')
    await send(raw, { v: V, t: 'done' })
    await raw.stream.close({ signal: AbortSignal.timeout(DEFAULT_WAIT_MS) })
    assert.deepEqual(await synced, { joined: 1, refused: 0, envelopes: 0 })
    assert.equal(await hostInbox.has(entry.hash), true)

    // A peer that says hello, reads the answer and then sends nothing: reset at the host's wait.
    const silent = await dialRaw(attacker, host)
    await send(silent, hello(hostInbox))
    await readUntilEnd(silent)
    assert.notEqual((await deadline(silent.closed, 'the host to cut a silent session')).error, undefined, 'the host reset the stream')
  })
})
