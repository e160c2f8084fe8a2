/**
 * The inbox log: IPMS's `ipms-mailbox` replicated by `/ipms/sync` against a raw OrbitDB 4 `events`
 * database replicated by OrbitDB's built-in Sync, in the same run, on the same transport
 * (createNode, 127.0.0.1 TCP, LevelDB homes in os.tmpdir(), removed at the end). 1,000 entries:
 *
 * 1. append on one node (IPMS: putEnvelope + add per mail, what a host does per accepted mail);
 * 2. catch-up of a new replica that connects to a node holding the 1,000 (open + sync, timed until
 *    the replica holds every entry, and for IPMS every envelope);
 * 3. live: 1,000 appends on A reaching a connected, already synced replica B;
 * 4. the owner's read of the 1,000 pending mails (sync, open, store, prune), against (2)'s baseline;
 * 5. on fresh nodes, a large inbox (LARGE = 10,000 entries, `IPMS_BENCH_LARGE=0` to leave it out):
 *    (2) again against raw OrbitDB, and (4) again against (4)'s time (linear: ≤ 1.2 × 10 × it).
 *
 * IPMS mail is real: 1 KiB bodies sealed with sealMail (envelope ≈ 2 KiB after padding), at PoW
 * difficulty 0 bits; sealing and stamps are done before any clock starts (delivery is benched
 * elsewhere). Raw payloads are 1 KiB of random bytes. The raw side lives in bench/inbox-raw.ts.
 */
import crypto from 'node:crypto'
import { pathToFileURL } from 'node:url'
import type { MailPayload } from '../src/access/payloads.ts'
import { inboxAddress } from '../src/access/inbox-address.ts'
import { powChallenge, solvePowSync } from '../src/crypto/pow/index.ts'
import { createIdentity, type Identity } from '../src/identity/identity.ts'
import { sealMail } from '../src/mail/seal.ts'
import { readInbox } from '../src/node/read-inbox.ts'
import type { Inbox } from '../src/stores/orbitdb/open-inbox.ts'
import { connect, startTestNode, type TestNode } from '../test/helpers/nodes.ts'
import { startReplica, type Replica } from '../test/helpers/replicas.ts'
import { benchRawCatchUp, benchRawOrbitDB, DEADLINE_MS, measure, notes, type Outcome } from './inbox-raw.ts'
import { waitFor } from '../test/helpers/wait.ts'
import { printRows, formatNumber, type Row } from './row.ts'

const COUNT = 1000
const WARMUP = 50
const BITS = 0
/** The large inbox of the catch-up and owner-read rows (`IPMS_BENCH_LARGE=0` leaves them out). */
const LARGE = Number(process.env.IPMS_BENCH_LARGE ?? 10_000)
/** Deliveries stored at once while the large inbox is filled. */
const FILL_AT_ONCE = 256

interface Prepared { env: string, bytes: Uint8Array, payload: MailPayload }

/** Seal `count` mails with 1 KiB bodies to `owner` and stamp them (0 bits), ready to store. */
async function prepare (owner: Identity, from: Identity, count: number): Promise<Prepared[]> {
  const inbox = inboxAddress(owner.peerId, BITS)
  const body = crypto.randomBytes(768).toString('base64') // 1,024 characters
  const out: Prepared[] = []
  for (let i = 0; i < count; i++) {
    const sealed = await sealMail({ subject: `bench ${i}`, body }, { from, to: owner.peerId, inbox })
    const ts = Date.now()
    const pow = solvePowSync(powChallenge({ bits: BITS, ts, inbox, envelopeCid: sealed.cid }), BITS)
    const env = sealed.cid.toString()
    out.push({ env, bytes: sealed.envelope, payload: { op: 'MAIL', v: 1, env, size: sealed.envelope.byteLength, ts, pow } })
  }
  return out
}

/** What a host does per accepted mail. */
async function store (inbox: Inbox, mail: Prepared): Promise<void> {
  await inbox.putEnvelope(mail.env, mail.bytes)
  await inbox.add(mail.payload)
}

/** Count distinct new mail on `inbox` ('mail' events), from now on. */
function mailCounter (inbox: Inbox): { count: () => number, stop: () => void } {
  const seen = new Set<string>()
  const onMail = (mail: { env: string }): void => { seen.add(mail.env) }
  inbox.events.on('mail', onMail)
  return { count: () => seen.size, stop: () => { inbox.events.off('mail', onMail) } }
}

/** Resolve when `replica` holds `count` pending mail of `inbox` and lacks no envelope. */
async function complete (replica: Replica, inbox: Inbox, counter: { count: () => number }, count: number, signal: AbortSignal): Promise<void> {
  await waitFor([[inbox.events, 'mail'], [inbox.events, 'synced']], async () =>
    counter.count() >= count && (await replica.sync.missingEnvelopes(inbox)).length === 0 && (await inbox.pending()).length >= count, signal)
}

async function benchIpms (a: Replica, b: Replica, owners: [Identity, Identity], sender: Identity): Promise<{ append: Outcome, catchUp: Outcome, live: Outcome, ownerRead: Outcome }> {
  const warmOwner = await createIdentity()
  const [warm, first, second] = await Promise.all([prepare(warmOwner, sender, WARMUP), prepare(owners[0], sender, COUNT), prepare(owners[1], sender, COUNT)])

  // Warm-up (JIT, LevelDB): another owner's inbox.
  const warmInbox = await a.inbox(warmOwner.peerId, BITS)
  for (const mail of warm) await store(warmInbox, mail)

  // 1. append
  const inboxA = await a.inbox(owners[0].peerId, BITS)
  const append = await measure(async () => {
    for (const mail of first) await store(inboxA, mail)
    return undefined
  })

  // 2. catch-up
  const catchUp = await ipmsCatchUp(a, b, owners[0], COUNT)

  // 3. live: a new owner's inbox open on both, b synced once with a (so that a pushes to b), untimed.
  let stopCounting = (): void => {}
  const live = await measure(async (signal, clock) => {
    const liveA = await a.inbox(owners[1].peerId, BITS)
    const liveB = await b.inbox(owners[1].peerId, BITS)
    await b.sync.syncWith(a.node.peerId, liveB, { signal })
    const counter = mailCounter(liveB)
    let sessions = 0
    const onSynced = (): void => { sessions++ }
    liveB.events.on('synced', onSynced)
    stopCounting = () => { counter.stop(); liveB.events.off('synced', onSynced) }
    clock.start()
    let appendMs = 0
    const appending = (async () => { for (const mail of second) await store(liveA, mail); appendMs = clock.elapsed() })()
    appending.catch(() => {}) // awaited below; a failure shows there
    await complete(b, liveB, counter, COUNT, signal)
    clock.stop()
    await appending
    return notes(`A's appends done at ${(appendMs / 1000).toFixed(2)} s`, `${sessions} sync sessions ended on B`)
  })
  stopCounting()
  await Promise.all([a.sync.idle(), b.sync.idle()])

  // 4. the owner's read of the 1,000 pending mails on a
  const ownerRead = await ipmsOwnerRead(a, owners[0])
  return { append, catchUp, live, ownerRead }
}

/** Catch-up of a new replica: `b` connects (untimed), then opens `owner`'s inbox and syncs with `a` (timed) until it holds `count` mails and every envelope. */
async function ipmsCatchUp (a: Replica, b: Replica, owner: Identity, count: number): Promise<Outcome> {
  await connect(b.node, a.node)
  return await measure(async (signal, clock) => {
    clock.start()
    const inboxB = await b.inbox(owner.peerId, BITS)
    const counter = mailCounter(inboxB)
    try {
      const result = await b.sync.syncWith(a.node.peerId, inboxB, { signal })
      await complete(b, inboxB, counter, count, signal)
      clock.stop()
      return notes(`one session: ${result.joined} head joined, ${result.envelopes} envelopes`)
    } finally { counter.stop() }
  })
}

/**
 * The owner's read of the pending mails of its inbox on `a`: a fresh node as the owner (untimed
 * start), then sync + open + verify + store (fsync per mail) + prune, timed.
 */
async function ipmsOwnerRead (a: Replica, owner: Identity): Promise<Outcome> {
  let ownerNode: Replica | undefined
  const ownerRead = await measure(async (signal, clock) => {
    ownerNode = await startReplica({ identity: owner })
    const inbox = await ownerNode.inbox(owner.peerId, BITS)
    clock.start()
    const result = await readInbox({ node: ownerNode.node, sync: ownerNode.sync, inbox, identity: owner, replicas: [a.node.multiaddrs()[0]!], signal })
    clock.stop()
    return notes(`${result.received.length} stored, ${result.quarantined.length} quarantined, ${result.pruned} pruned`)
  })
  await ownerNode?.sync.idle()
  await ownerNode?.cleanup()
  return ownerRead
}

/** Store `mails` in `inbox` as a host under load does: many deliveries at once, grouped by the log writer. */
async function fill (inbox: Inbox, mails: Prepared[]): Promise<void> {
  for (let i = 0; i < mails.length; i += FILL_AT_ONCE) await Promise.all(mails.slice(i, i + FILL_AT_ONCE).map(async mail => { await store(inbox, mail) }))
}

/**
 * The large inbox (LARGE mails), raw and IPMS on fresh nodes: catch-up of a new replica, and the
 * owner's read of them all. Filling the inboxes is not timed.
 */
async function benchLarge (started: Array<{ cleanup: () => Promise<void> }>): Promise<{ raw: Outcome, catchUp: Outcome, ownerRead: Outcome }> {
  const rawNodes: TestNode[] = []
  for (let i = 0; i < 2; i++) { const n = await startTestNode({ pubsub: true }); started.push(n); rawNodes.push(n) } // OrbitDB's own Sync needs gossipsub
  const raw = await benchRawCatchUp(rawNodes[0]!, rawNodes[1]!, LARGE)
  await Promise.all(rawNodes.map(async n => await n.cleanup()))

  const [owner, sender] = await Promise.all([createIdentity(), createIdentity()])
  const replicas: Replica[] = []
  for (let i = 0; i < 2; i++) { const r = await startReplica({ grantsFrom: [owner] }); started.push(r); replicas.push(r) }
  const [a, b] = replicas as [Replica, Replica]
  await fill(await a.inbox(owner.peerId, BITS), await prepare(owner, sender, LARGE))
  const catchUp = await ipmsCatchUp(a, b, owner, LARGE)
  await b.cleanup()
  const ownerRead = await ipmsOwnerRead(a, owner)
  return { raw, catchUp, ownerRead }
}

const seconds = (ms: number): string => `${formatNumber(ms / 1000, 2)} s`
const describeCount = (o: Outcome, rate: boolean, count = COUNT): string => {
  if ('failed' in o) return `${o.failed} (after ${seconds(o.afterMs)})`
  const main = rate ? `${formatNumber(count / (o.ms / 1000))} entries/s (${seconds(o.ms)})` : `${seconds(o.ms)} (${formatNumber(count / (o.ms / 1000))} entries/s)`
  return o.note === undefined ? main : `${main}; ${o.note}`
}
const describe = (o: Outcome, rate: boolean): string => describeCount(o, rate)

/** A row comparing times (lower is better); ratio = baseline ÷ ipms, target ≥ `want` ×. */
function timeRow (measureText: string, ipms: Outcome, raw: Outcome, want: number, rawText: string, count = COUNT): Row {
  const describe = (o: Outcome, rate: boolean): string => describeCount(o, rate, count)
  let ratio: string
  let met: boolean
  if ('failed' in ipms) {
    ratio = 'n/a (IPMS failed)'
    met = false
  } else if ('failed' in raw && !raw.timedOut) {
    // The baseline broke: no figure to compare with, and no verdict.
    return { measure: measureText, ipms: describe(ipms, false), baseline: `${describe(raw, false)} (${rawText})`, ratio: 'n/a (baseline failed)', target: `≥ ${want} × faster`, met: null }
  } else if ('failed' in raw) {
    // The baseline ran into its deadline: a lower bound.
    const bound = Math.max(raw.afterMs, DEADLINE_MS) / ipms.ms
    ratio = `> ${formatNumber(bound, 1)} ×`
    met = bound >= want
  } else {
    ratio = `${formatNumber(raw.ms / ipms.ms, 1)} ×`
    met = raw.ms / ipms.ms >= want
  }
  return { measure: measureText, ipms: describe(ipms, false), baseline: `${describe(raw, false)} (${rawText})`, ratio, target: `≥ ${want} × faster`, met }
}

export async function benchInbox (): Promise<Row[]> {
  const [owner1, owner2, sender] = await Promise.all([createIdentity(), createIdentity(), createIdentity()])
  const started: Array<{ cleanup: () => Promise<void> }> = []
  let raw: Awaited<ReturnType<typeof benchRawOrbitDB>>
  let ipms: Awaited<ReturnType<typeof benchIpms>>
  let large: Awaited<ReturnType<typeof benchLarge>> | undefined
  try {
    // Raw OrbitDB first, on its own two nodes, stopped before IPMS starts.
    const rawNodes: TestNode[] = []
    for (let i = 0; i < 2; i++) { const n = await startTestNode({ pubsub: true }); started.push(n); rawNodes.push(n) } // OrbitDB's own Sync needs gossipsub
    raw = await benchRawOrbitDB(rawNodes[0]!, rawNodes[1]!, COUNT, WARMUP)
    await Promise.all(rawNodes.map(async n => await n.cleanup()))

    const replicas: Replica[] = []
    // Both are hosts of the two owners (their grants), so that they may sync each other's inboxes.
    for (let i = 0; i < 2; i++) { const r = await startReplica({ grantsFrom: [owner1, owner2] }); started.push(r); replicas.push(r) }
    ipms = await benchIpms(replicas[0]!, replicas[1]!, [owner1, owner2], sender)
    await Promise.all(replicas.map(async r => await r.cleanup()))
    if (LARGE > 0) large = await benchLarge(started)
  } finally {
    await Promise.allSettled(started.map(async n => await n.cleanup()))
  }

  const rawText = 'raw OrbitDB events db, built-in Sync, 1 KiB payloads'
  const rows: Row[] = []
  {
    const base = raw.append
    const ours = ipms.append
    const ratio = !('failed' in base) && !('failed' in ours) ? base.ms / ours.ms : undefined
    rows.push({
      measure: `inbox append ${formatNumber(COUNT)} on one node (IPMS: putEnvelope + add per mail, sealed 1 KiB-body envelopes, PoW 0 bits, sealed and stamped beforehand)`,
      ipms: describe(ours, true),
      baseline: `${describe(base, true)} (${rawText}, db.add per payload)`,
      ratio: ratio === undefined ? 'n/a' : `${formatNumber(ratio, 2)} ×`,
      target: '≥ 1.0 ×',
      met: ratio !== undefined && ratio >= 1
    })
  }
  rows.push(timeRow(`inbox catch-up of a new replica on ${formatNumber(COUNT)} entries (open + sync until every entry, and for IPMS every envelope, is local; connected beforehand)`,
    ipms.catchUp, raw.catchUp, 5, `${rawText}: open by address, head exchange, entries over bitswap`))
  if (large !== undefined) {
    rows.push(timeRow(`inbox catch-up of a new replica on ${formatNumber(LARGE)} entries (as above)`,
      large.catchUp, large.raw, 5, `${rawText}: open by address, head exchange, entries over bitswap`, LARGE))
  }
  rows.push(timeRow(`inbox live: ${formatNumber(COUNT)} appends on A as fast as it can, until a connected synced replica B holds all (IPMS: pushes over /ipms/sync)`,
    ipms.live, raw.live, 5, `${rawText}: gossipsub head per append`))
  {
    const read = ipms.ownerRead
    const base = raw.catchUp
    const ratio = !('failed' in read) && !('failed' in base) ? base.ms / read.ms : undefined
    rows.push({
      measure: `owner read of ${formatNumber(COUNT)} pending mails from one host (readInbox: sync, open + verify each, store with fsync, prune)`,
      ipms: 'failed' in read ? describe(read, false) : `${formatNumber(COUNT / (read.ms / 1000))} mails/s (${seconds(read.ms)})${read.note === undefined ? '' : `; ${read.note}`}`,
      baseline: `${describe(base, false)} (${rawText}: catch-up of a new replica, the row above)`,
      ratio: ratio === undefined ? 'n/a' : `${formatNumber(ratio, 1)} ×`,
      target: '— (against the catch-up baseline)',
      met: null
    })
  }
  if (large !== undefined) {
    // Linear: the read of LARGE mails takes at most 1.2 × LARGE/COUNT the time of COUNT's.
    const big = large.ownerRead
    const small = ipms.ownerRead
    const factor = LARGE / COUNT
    const times = !('failed' in big) && !('failed' in small) ? big.ms / small.ms : undefined
    const bound = 1.2 * factor
    rows.push({
      measure: `owner read of ${formatNumber(LARGE)} pending mails from one host (as above), against the read of ${formatNumber(COUNT)}`,
      ipms: 'failed' in big ? describeCount(big, false, LARGE) : `${formatNumber(LARGE / (big.ms / 1000))} mails/s (${seconds(big.ms)})${big.note === undefined ? '' : `; ${big.note}`}`,
      baseline: `${'failed' in small ? describe(small, false) : seconds(small.ms)} (the read of ${formatNumber(COUNT)}, the row above)`,
      ratio: times === undefined ? 'n/a' : `${formatNumber(times, 1)} × the time`,
      target: `≤ ${formatNumber(bound, 0)} × the time (linear)`,
      met: times !== undefined && times <= bound
    })
  }
  return rows
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await printRows(benchInbox)
