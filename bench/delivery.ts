/**
 * Delivery (`/ipms/deliver`): what one host accepts, against raw OrbitDB measured in the same run
 * on the same kind of node (createNode, 127.0.0.1 TCP, LevelDB homes in os.tmpdir(), removed at
 * the end).
 *
 * 1. deliveries/s into one inbox: one sender libp2p (withFreshSender, dialled once) on a worker
 *    thread (bench/sender-worker.ts), 1,000 requests over that one connection, 8 in flight, until
 *    the last verified receipt;
 * 2. the same into 100 inboxes (opened before the clock), round-robin;
 *    both again on a host whose writes are not synced (`durableWrites: false`): the cost of durable
 *    receipts (one fdatasync per LevelDB per group), a row each beside the synced figure;
 *    and, as context, the same sender, requests and streams against a host that answers each with
 *    a receipt-sized frame and does nothing else: the ceiling of one libp2p stream per mail;
 * 3. latency send → receipt, one at a time, connection open: p50 and p99 over 1,000;
 * 4. one host holding 100 and 1,000 inboxes: RSS, open fds, time to open.
 *
 * Baselines: (1, 2) raw OrbitDB `events` db, 1,000 sequential `db.add` of 1 KiB payloads;
 * (3) raw OrbitDB append on A until a connected B's 'update' for that entry, p50 over 100.
 *
 * IPMS mail is real: 1 KiB bodies sealed with sealMail, stamped at PoW 0 bits; sealing and stamps
 * are done before any clock starts (PoW cost is benched in bench/pow.ts). The host's rate limit is
 * lifted (deliveriesPerWindow 1e9) so it does not interfere.
 *
 * Why the sender of (1, 2) runs on a thread of its own: senders are other machines. On the host's
 * thread, the sender's half of every stream (dial, Noise, Yamux, multistream, the receipt's
 * signature check) took about half of that thread's time and was counted as the host's. The
 * machine's cores are shared all the same (the sender thread, LevelDB's thread pool, the host),
 * and the baseline's appends run on the main thread, with the same thread pool.
 */
import crypto from 'node:crypto'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { EventEmitter } from 'node:events'
import { createOrbitDB } from '@orbitdb/core'
import type { Libp2p } from '@libp2p/interface'
import type { MailPayload } from '../src/access/payloads.ts'
import { inboxAddress } from '../src/access/inbox-address.ts'
import { powChallenge, solvePowSync } from '../src/crypto/pow/index.ts'
import { createIdentity, type Identity } from '../src/identity/identity.ts'
import { sealMail } from '../src/mail/seal.ts'
import { deliverTo, MAX_DELIVER_FRAME_BYTES } from '../src/node/deliver.ts'
import { frames } from '../src/node/frames.ts'
import { withFreshSender } from '../src/node/sender.ts'
import { connect, startTestNode, type TestNode } from '../test/helpers/nodes.ts'
import { startReplica, type Replica } from '../test/helpers/replicas.ts'
import { waitFor } from '../test/helpers/wait.ts'
import { measure, notes, rawPayloads, waitLiveReplicas, type Outcome } from './inbox-raw.ts'
import type { SenderWorkerData } from './sender-worker.ts'
import { startSender } from './sender.ts'
import { formatNumber, median, printRows, type Row } from './row.ts'

const COUNT = 1000
const WARMUP = 50
const IN_FLIGHT = 8
const MANY = 100
const RAW_LATENCY_COUNT = 100
const BITS = 0
const POLICY = { deliveriesPerWindow: 1e9 }
const HOLD_COUNTS = [100, 1000]
const ECHO_PROTOCOL = '/ipms-bench/echo/1.0.0'
/** About the size of a receipt frame. */
const RECEIPT_FRAME_BYTES = 250
const HOLD_BUDGET_MS = 4 * 60_000

interface Request { inbox: string, mail: MailPayload, envelope: Uint8Array }

const body = crypto.randomBytes(768).toString('base64') // 1,024 characters

/** Seal and stamp (0 bits) one mail to `owner`. */
async function request (owner: string, from: Identity, i: number): Promise<Request> {
  const inbox = inboxAddress(owner, BITS)
  const sealed = await sealMail({ subject: `bench ${i}`, body }, { from, to: owner, inbox })
  const ts = Date.now()
  const pow = solvePowSync(powChallenge({ bits: BITS, ts, inbox, envelopeCid: sealed.cid }), BITS)
  return { inbox, envelope: sealed.envelope, mail: { op: 'MAIL', v: 1, env: sealed.cid.toString(), size: sealed.envelope.byteLength, ts, pow } }
}

async function requests (owners: string[], from: Identity, count: number): Promise<Request[]> {
  const out: Request[] = []
  for (let i = 0; i < count; i++) out.push(await request(owners[i % owners.length]!, from, i))
  return out
}

/** Deliver all, `IN_FLIGHT` at a time, over the sender's open connection. */
async function deliverAll (libp2p: Libp2p, host: string, all: Request[], signal: AbortSignal): Promise<number> {
  let next = 0
  let receipts = 0
  const worker = async (): Promise<void> => {
    while (next < all.length) {
      const r = all[next++]!
      await deliverTo(libp2p, host, r, { signal })
      receipts++
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
  return receipts
}

/** `fn`'s note, and how busy the host's thread (this one) was meanwhile (event-loop utilisation). */
async function busy (fn: () => Promise<string>): Promise<string> {
  const start = performance.eventLoopUtilization()
  const note = await fn()
  return notes(note, `host thread busy ${Math.round(performance.eventLoopUtilization(start).utilization * 100)}%`)
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!
}

interface EventsDb { address: string, add: (value: unknown) => Promise<string>, events: EventEmitter, peers: Set<string>, close: () => Promise<void> }

/** Raw OrbitDB: 1,000 sequential appends (entries/s outcome), and A → B append latencies (ms). */
async function benchRaw (a: TestNode, b: TestNode): Promise<{ append: Outcome, latency: number[] | string }> {
  const tag = crypto.randomBytes(4).toString('hex')
  const orbitA = await createOrbitDB({ ipfs: a.node.helia, directory: join(a.home, 'raw-orbitdb'), id: `raw-${a.node.peerId}` })
  const orbitB = await createOrbitDB({ ipfs: b.node.helia, directory: join(b.home, 'raw-orbitdb'), id: `raw-${b.node.peerId}` })
  const onError = (): void => {}
  const open = async (orbit: typeof orbitA, address: string): Promise<EventsDb> => {
    const db = await orbit.open(address, { type: 'events' }) as unknown as EventsDb
    db.events.on('error', onError)
    return db
  }
  try {
    const warm = await open(orbitA, `bench-delivery-raw-warm-${tag}`)
    for (const payload of rawPayloads(WARMUP)) await warm.add(payload)
    await warm.close()

    const db = await open(orbitA, `bench-delivery-raw-${tag}`)
    const payloads = rawPayloads(COUNT)
    const append = await measure(async () => {
      for (const payload of payloads) await db.add(payload)
      return undefined
    })
    await db.close()

    // Latency: A and B have the database open and see each other (untimed), then one append at a time.
    let latency: number[] | string
    try {
      await connect(b.node, a.node)
      const signal = AbortSignal.timeout(120_000)
      const dbA = await open(orbitA, `bench-delivery-raw-live-${tag}`)
      const dbB = await open(orbitB, dbA.address)
      await waitLiveReplicas(dbA, dbB, a, b, signal)
      let latest = 0
      dbB.events.on('update', (entry: { clock?: { time?: number } }) => { latest = Math.max(latest, entry?.clock?.time ?? 0) })
      const times: number[] = []
      const livePayloads = rawPayloads(RAW_LATENCY_COUNT + 5)
      for (let i = 0; i < livePayloads.length; i++) {
        const start = performance.now()
        await dbA.add(livePayloads[i])
        await waitFor([[dbB.events, 'update']], () => latest >= i + 1, signal)
        if (i >= 5) times.push(performance.now() - start) // the first 5 warm up
      }
      latency = times
      await dbB.close().catch(() => {})
      await dbA.close().catch(() => {})
    } catch (err) {
      latency = (err as Error).message
    }
    return { append, latency }
  } finally {
    await orbitB.stop().catch(() => {})
    await orbitA.stop().catch(() => {})
  }
}

interface Held { count: number, rssBytes: number, fds: number, ms: number }

/** Open inboxes one after another on a fresh host; figures at each of HOLD_COUNTS (or where the budget ran out). */
async function benchHold (): Promise<{ held: Held[], before: { rssBytes: number, fds: number }, stopped?: Held }> {
  const fds = (): number => readdirSync('/proc/self/fd').length
  const host = await startReplica({ policy: POLICY })
  try {
    const owners = await Promise.all(Array.from({ length: HOLD_COUNTS[HOLD_COUNTS.length - 1]! }, async () => (await createIdentity()).peerId))
    const before = { rssBytes: process.memoryUsage().rss, fds: fds() }
    const held: Held[] = []
    const start = performance.now()
    for (let i = 0; i < owners.length; i++) {
      await host.inbox(owners[i]!, BITS) // openInbox + sync.register
      const ms = performance.now() - start
      if (HOLD_COUNTS.includes(i + 1)) held.push({ count: i + 1, rssBytes: process.memoryUsage().rss, fds: fds(), ms })
      else if (ms > HOLD_BUDGET_MS) return { held, before, stopped: { count: i + 1, rssBytes: process.memoryUsage().rss, fds: fds(), ms } }
    }
    return { held, before }
  } finally {
    await host.cleanup()
  }
}

const seconds = (ms: number): string => `${formatNumber(ms / 1000, 2)} s`
const mib = (bytes: number): string => `${formatNumber(bytes / 2 ** 20)} MiB`
const rateText = (o: Outcome, unit: string): string =>
  'failed' in o ? `${o.failed} (after ${seconds(o.afterMs)})` : `${formatNumber(COUNT / (o.ms / 1000))} ${unit}/s (${seconds(o.ms)})${o.note === undefined ? '' : `; ${o.note}`}`

export async function benchDelivery (): Promise<Row[]> {
  const started: Array<{ cleanup: () => Promise<void> }> = []
  let rawAppend: Outcome
  let rawLatency: number[] | string
  let one: Outcome, many: Outcome, streams: Outcome, oneFast: Outcome, manyFast: Outcome
  let latency = 'not run' as number[] | string
  let hold: Awaited<ReturnType<typeof benchHold>>
  try {
    // Raw OrbitDB first, on its own two nodes, stopped before IPMS starts.
    const rawNodes: TestNode[] = []
    for (let i = 0; i < 2; i++) { const n = await startTestNode({ pubsub: true }); started.push(n); rawNodes.push(n) }
    ;({ append: rawAppend, latency: rawLatency } = await benchRaw(rawNodes[0]!, rawNodes[1]!))
    await Promise.all(rawNodes.map(async n => await n.cleanup()))

    const from = await createIdentity()
    const [warmOwner, oneOwner, latencyOwner] = await Promise.all([createIdentity(), createIdentity(), createIdentity()])
    const manyOwners = await Promise.all(Array.from({ length: MANY }, async () => (await createIdentity()).peerId))
    // Sealed and stamped before any clock starts (the sender worker seals its own before 'ready').
    const warm = await requests([warmOwner.peerId], from, WARMUP)
    const latencyReqs = await requests([latencyOwner.peerId], from, COUNT)

    /** The sender worker for `target`: warm-up, 'one' and 'many' batches, and `extra` ones. */
    const senderFor = (target: Replica, extra: SenderWorkerData['batches'] = {}): ReturnType<typeof startSender> => startSender({
      host: target.node.multiaddrs()[0]!,
      hostId: target.node.peerId,
      batches: {
        warm: { owners: [warmOwner.peerId], count: WARMUP },
        ...extra,
        one: { owners: [oneOwner.peerId], count: COUNT },
        many: { owners: manyOwners, count: COUNT }
      },
      warmup: 'warm',
      inFlight: IN_FLIGHT,
      bits: BITS
    })

    // The baseline of durable receipts: the same deliveries into a host that does not sync.
    {
      const fast = await startReplica({ policy: POLICY, durableWrites: false })
      started.push(fast)
      for (const owner of [warmOwner.peerId, oneOwner.peerId, ...manyOwners]) await fast.inbox(owner, BITS)
      const sender = senderFor(fast)
      try {
        await sender.ready
        oneFast = await measure(async () => await busy(async () => `${await sender.run('one')} receipts`))
        manyFast = await measure(async () => await busy(async () => `${await sender.run('many')} receipts`))
      } finally {
        await sender.stop()
      }
      await fast.cleanup()
    }

    const host = await startReplica({ policy: POLICY })
    started.push(host)
    for (const owner of [warmOwner.peerId, oneOwner.peerId, latencyOwner.peerId, ...manyOwners]) await host.inbox(owner, BITS)
    const hostId = host.node.peerId

    // The ceiling one stream per delivery sets: the host reads the request and answers a frame of
    // a receipt's size, with no check, store or signature.
    await host.node.libp2p.handle(ECHO_PROTOCOL, async (stream) => {
      const lp = frames(stream, MAX_DELIVER_FRAME_BYTES)
      await lp.read()
      await lp.write(new Uint8Array(RECEIPT_FRAME_BYTES))
      await stream.close()
    }, { maxInboundStreams: 256 })
    const sender = senderFor(host, { echo: { owners: [oneOwner.peerId], count: COUNT, echo: ECHO_PROTOCOL } })
    try {
      await sender.ready
      streams = await measure(async () => await busy(async () => `${await sender.run('echo')} answers`))
      one = await measure(async () => await busy(async () => `${await sender.run('one')} receipts`))
      many = await measure(async () => await busy(async () => `${await sender.run('many')} receipts`))
    } finally {
      await sender.stop()
    }

    await withFreshSender(async (libp2p, dial) => {
      await dial(host.node.multiaddrs()[0]!)
      await deliverAll(libp2p, hostId, warm, AbortSignal.timeout(60_000))
      try {
        const times: number[] = []
        const signal = AbortSignal.timeout(300_000)
        for (const r of latencyReqs) {
          const start = performance.now()
          await deliverTo(libp2p, hostId, r, { signal })
          times.push(performance.now() - start)
        }
        latency = times
      } catch (err) { latency = (err as Error).message }
    })
    await host.cleanup()

    hold = await benchHold()
  } finally {
    await Promise.allSettled(started.map(async n => await n.cleanup()))
  }

  const rows: Row[] = []
  const rawText = `raw OrbitDB events db, ${formatNumber(COUNT)} sequential db.add of 1 KiB payloads on the same kind of node`
  const rawRate = 'failed' in rawAppend ? undefined : COUNT / (rawAppend.ms / 1000)
  const rateRow = (measureText: string, o: Outcome): Row => {
    const rate = 'failed' in o ? undefined : COUNT / (o.ms / 1000)
    const ratio = rate !== undefined && rawRate !== undefined ? rate / rawRate : undefined
    return {
      measure: measureText,
      ipms: rateText(o, 'deliveries'),
      baseline: `${rateText(rawAppend, 'entries')} (${rawText})`,
      ratio: ratio === undefined ? 'n/a' : `${formatNumber(ratio, 2)} ×`,
      target: '≥ 3 ×',
      met: rawRate === undefined ? null : ratio !== undefined && ratio >= 3
    }
  }
  const conditions = `${formatNumber(COUNT)} sealed 1 KiB-body mails, PoW 0 bits (sealed and stamped beforehand), one sender connection from a worker thread, ${IN_FLIGHT} in flight, until the last receipt`
  rows.push(rateRow(`deliveries accepted per second by one host into one inbox (${conditions})`, one))
  rows.push(rateRow(`deliveries accepted per second by one host into ${MANY} inboxes at once, round-robin (${conditions}; inboxes opened beforehand)`, many))
  // Durable receipts against the same host with sync off, measured in this run.
  const durableRow = (measureText: string, synced: Outcome, unsynced: Outcome): Row => {
    const rate = (o: Outcome): number | undefined => 'failed' in o ? undefined : COUNT / (o.ms / 1000)
    const ratio = rate(synced) !== undefined && rate(unsynced) !== undefined ? rate(synced)! / rate(unsynced)! : undefined
    return {
      measure: measureText,
      ipms: rateText(synced, 'deliveries'),
      baseline: `${rateText(unsynced, 'deliveries')} (the same host with sync off: durableWrites false, receipts that survive kill -9 but not a power cut)`,
      ratio: ratio === undefined ? 'n/a' : `${formatNumber(ratio, 2)} ×`,
      target: '≥ 0.8 ×',
      met: ratio === undefined ? false : ratio >= 0.8
    }
  }
  rows.push(durableRow(`deliveries/s, durable receipts, one inbox: the last write of each group into each LevelDB synced (${conditions})`, one, oneFast))
  rows.push(durableRow(`deliveries/s, durable receipts, ${MANY} inboxes round-robin: the last write of each group into each LevelDB synced (${conditions})`, many, manyFast))
  {
    const row = rateRow(`context: the ceiling of one libp2p stream per delivery: the same sender, requests and streams, the host answering each with ${RECEIPT_FRAME_BYTES} bytes and doing nothing else`, streams)
    rows.push({ ...row, ipms: row.ipms.replace('deliveries/s', 'streams/s'), target: '— (no delivery design with a stream per mail passes this)', met: null })
  }

  {
    const ipmsOk = Array.isArray(latency) && latency.length > 0
    const rawOk = Array.isArray(rawLatency) && rawLatency.length > 0
    const ipmsP50 = ipmsOk ? median(latency as number[]) : undefined
    const rawP50 = rawOk ? median(rawLatency as number[]) : undefined
    const ratio = ipmsP50 !== undefined && rawP50 !== undefined ? rawP50 / ipmsP50 : undefined
    rows.push({
      measure: `delivery latency send → verified receipt over loopback, one at a time on an open connection, ${formatNumber(COUNT)} mails (PoW excluded: 0 bits, stamped beforehand)`,
      ipms: ipmsOk ? `p50 ${formatNumber(ipmsP50!, 2)} ms, p99 ${formatNumber(percentile(latency as number[], 0.99), 2)} ms` : `failed: ${String(latency)}`,
      baseline: rawOk
        ? `p50 ${formatNumber(rawP50!, 2)} ms, p99 ${formatNumber(percentile(rawLatency as number[], 0.99), 2)} ms (raw OrbitDB events db: db.add on A until a connected B's 'update' for that entry, ${RAW_LATENCY_COUNT} appends, built-in Sync)`
        : `failed: ${String(rawLatency)}`,
      ratio: ratio === undefined ? 'n/a' : `${formatNumber(ratio, 1)} ×`,
      target: 'p50 below the baseline\'s p50 (> 1 ×)',
      met: ratio === undefined ? (ipmsOk ? null : false) : ratio > 1
    })
  }

  {
    const text = (h: Held): string => `RSS ${mib(h.rssBytes)}, ${formatNumber(h.fds)} open fds, opened in ${seconds(h.ms)}`
    const at100 = hold.held.find(h => h.count === 100)
    const at1000 = hold.held.find(h => h.count === 1000)
    const beforeText = `before opening: RSS ${mib(hold.before.rssBytes)}, ${formatNumber(hold.before.fds)} fds`
    const ipms = at1000 !== undefined
      ? `${text(at1000)}; ${beforeText}`
      : `stopped after ${HOLD_BUDGET_MS / 60_000} min at ${formatNumber(hold.stopped?.count ?? 0)} inboxes: ${hold.stopped === undefined ? '' : text(hold.stopped)}; ${beforeText}`
    rows.push({
      measure: 'one host holding many inboxes (openInbox + sync.register one after another, bits 0, one node; RSS, /proc/self/fd entries, cumulative time to open)',
      ipms,
      baseline: at100 === undefined ? 'n/a' : `at 100 inboxes: ${text(at100)}`,
      ratio: at100 !== undefined && at1000 !== undefined
        ? `10 × inboxes: RSS ${formatNumber(at1000.rssBytes / at100.rssBytes, 2)} ×, fds ${formatNumber(at1000.fds / at100.fds, 2)} ×, time ${formatNumber(at1000.ms / at100.ms, 1)} ×`
        : 'n/a',
      target: '1,000 inboxes within 2 GiB and start under 60 s',
      met: at1000 !== undefined && at1000.rssBytes < 2 * 2 ** 30 && at1000.ms < 60_000
    })
  }
  return rows
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await printRows(benchDelivery)
