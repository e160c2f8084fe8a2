/**
 * A host on the open internet under abuse (docs/PROTOCOL.md §12.1), each figure beside the same
 * host's quiet figure measured in the same run. The host runs in a process of its own
 * (test/helpers/host-child.ts), so that its memory is its own; attackers run here, on loopback
 * source addresses 127.<a>.<b>.<c> (Linux routes all of 127/8 to loopback), honest senders on
 * 127.0.0.1 with a fresh identity per mail (as `ipms send` does), PoW 0 bits, mail sealed and
 * stamped before the clock starts.
 *
 * 1. host RSS right after 40 decode bombs (4 MiB arrays of empty maps, from 40 addresses at once,
 *    over connections opened beforehand), against its RSS with those connections open and quiet
 *    (target ≤ quiet + 64 MiB);
 * 2. honest send → receipt p50 while 200 fresh-identity connections (20 addresses, 2 /24s) each
 *    send a stream of malformed deliver requests, against the quiet p50 (target ≤ 3 ×);
 * 3. honest deliveries that get a receipt while 400 idle fresh-identity connections (40 addresses,
 *    4 /24s) are held open, against the quiet share (target 100 %).
 */
import { availableParallelism } from 'node:os'
import { pathToFileURL } from 'node:url'
import * as dagCbor from '@ipld/dag-cbor'
import { lpStream } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from '@libp2p/interface'
import { inboxAddress } from '../src/access/inbox-address.ts'
import type { MailPayload } from '../src/access/payloads.ts'
import { powChallenge, solvePowSync } from '../src/crypto/pow/index.ts'
import { createIdentity, type Identity } from '../src/identity/identity.ts'
import { sealMail } from '../src/mail/seal.ts'
import { DELIVER_PROTOCOL, deliverTo } from '../src/node/deliver.ts'
import { withFreshSender } from '../src/node/sender.ts'
import { floodAddress, idleConnections, nodeFrom } from '../test/helpers/flood.ts'
import { startHostChild, type HostChild } from '../test/helpers/host-child.ts'
import { formatNumber, median, printRows, type Row } from './row.ts'

const BITS = 0
const MiB = 1024 * 1024
const HONEST = 30
const FLOOD_CONNECTIONS = 200
const BOMBS = 40
const IDLE = 400

type Request = { inbox: string, mail: MailPayload, envelope: Uint8Array }

async function requests (owner: Identity, from: Identity, count: number): Promise<Request[]> {
  const inbox = inboxAddress(owner.peerId, BITS)
  return await Promise.all(Array.from({ length: count }, async (_, i) => {
    const sealed = await sealMail({ body: `honest mail ${i}` }, { from, to: owner.peerId, inbox })
    const ts = Date.now()
    const pow = solvePowSync(powChallenge({ bits: BITS, ts, inbox, envelopeCid: sealed.cid }), BITS)
    return { inbox, envelope: sealed.envelope, mail: { op: 'MAIL', v: 1, env: sealed.cid.toString(), size: sealed.envelope.byteLength, ts, pow } }
  }))
}

/** Honest sends one after another, each from a fresh identity: latencies (ms) of those that got a receipt, and how many did. */
async function honest (host: HostChild, batch: Request[]): Promise<{ latencies: number[], ok: number, errors: string[] }> {
  const latencies: number[] = []
  const errors: string[] = []
  for (const request of batch) {
    // Paced to 20 a second: one address may open 100 connections a second, and honest people do
    // not send mail back to back; without this the sender trips that limit itself.
    const start = performance.now()
    const paced = new Promise(resolve => setTimeout(resolve, 50))
    try {
      await withFreshSender(async (libp2p, dial) => {
        await dial(host.address, AbortSignal.timeout(10_000))
        await deliverTo(libp2p, host.peerId, request, { timeoutMs: 10_000 })
      })
      latencies.push(performance.now() - start)
    } catch (err) {
      errors.push(`${(err as { code?: string }).code ?? ''} ${(err as Error).message}`.slice(0, 160))
    }
    await paced
  }
  return { latencies, ok: latencies.length, errors }
}

/** Send `frame` on a new deliver stream and wait for the answer (or the end of the stream). */
async function sendRaw (node: Libp2p, host: HostChild, frame: Uint8Array): Promise<void> {
  const stream = await node.dialProtocol(peerIdFromString(host.peerId), DELIVER_PROTOCOL, { signal: AbortSignal.timeout(20_000) })
  const lp = lpStream(stream, { maxDataLength: 64 * 1024 })
  try {
    void lp.write(frame, { signal: AbortSignal.timeout(20_000) }).catch(() => {}) // the host may answer before it takes it all
    await lp.read({ signal: AbortSignal.timeout(20_000) })
  } catch {} finally {
    stream.abort(new Error('done'))
  }
}

export async function benchAbuse (): Promise<Row[]> {
  const [owner, alice] = await Promise.all([createIdentity(), createIdentity()])
  const host = await startHostChild(owner.peerId, BITS)
  const rows: Row[] = []
  try {
    await honest(host, await requests(owner, alice, HONEST)) // warm up: the quiet figure is taken on a warm host
    const quiet = await honest(host, await requests(owner, alice, HONEST))
    const quietP50 = median(quiet.latencies)
    const quietRss = host.rss()

    // 1. Decode bombs (first, while the host is as quiet as its baseline).
    const bomb = new Uint8Array(4 * MiB).fill(0xa0)
    bomb.set([0x9a, 0x00, 0x3f, 0xff, 0xfb]) // an array of 4 MiB - 5 empty maps
    const bombers = await Promise.all(Array.from({ length: BOMBS }, async (_, i) => await nodeFrom(`127.20.${i % 4}.${i + 1}`)))
    // Connected first: the row measures what the bombs cost, not what 40 connections cost.
    await Promise.all(bombers.map(async node => { await node.dial(multiaddr(host.address), { signal: AbortSignal.timeout(20_000) }).catch(() => {}) }))
    const connectedRss = host.rss()
    await Promise.all(bombers.map(async node => { await sendRaw(node, host, bomb).catch(() => {}) }))
    const bombedRss = host.rss()
    await Promise.all(bombers.map(async node => { await node.stop() }))
    rows.push({
      measure: `host RSS right after ${BOMBS} decode bombs (4 MiB deliver requests of ~4 M empty maps) sent at once over ${BOMBS} connections from ${BOMBS} addresses, opened beforehand (RSS quiet ${formatNumber(quietRss / MiB)} MiB, with the connections open)`,
      ipms: `${formatNumber(bombedRss / MiB)} MiB`,
      baseline: `${formatNumber(connectedRss / MiB)} MiB (same host, connections open, quiet)`,
      ratio: `+${formatNumber((bombedRss - connectedRss) / MiB)} MiB`,
      target: '≤ quiet + 64 MiB',
      met: bombedRss <= connectedRss + 64 * MiB
    })

    // 2. A flood of malformed requests from 200 fresh identities.
    const flooders = await Promise.all(Array.from({ length: FLOOD_CONNECTIONS }, async (_, i) => await nodeFrom(floodAddress(i, 20, 10))))
    let flooding = true
    const garbage = dagCbor.encode({ v: 1, t: 'deliver', inbox: 'nowhere', mail: {}, envelope: new Uint8Array(1024) })
    const floods = flooders.map(async node => {
      await node.dial(multiaddr(host.address), { signal: AbortSignal.timeout(20_000) }).catch(() => {})
      while (flooding) await sendRaw(node, host, garbage).catch(async () => { await new Promise(resolve => setTimeout(resolve, 1_000)) })
    })
    const floodBatch = await requests(owner, alice, HONEST)
    const floodCpu = host.cpuMs()
    const floodStart = performance.now()
    const ownCpu = process.cpuUsage()
    const flooded = await honest(host, floodBatch)
    const floodWall = performance.now() - floodStart
    const hostShare = (host.cpuMs() - floodCpu) / floodWall
    const attackerShare = (process.cpuUsage(ownCpu).user + process.cpuUsage(ownCpu).system) / 1000 / floodWall
    flooding = false
    await Promise.all(floods)
    await Promise.all(flooders.map(async node => { await node.stop() }))
    const floodP50 = flooded.latencies.length > 0 ? median(flooded.latencies) : Infinity
    rows.push({
      measure: `honest send → receipt p50 (fresh identity per mail, ${HONEST} one after another, 20 a second at most) while ${FLOOD_CONNECTIONS} fresh-identity connections from 20 addresses flood the host with malformed deliver requests (back off 1 s when refused a connection); ${flooded.ok}/${HONEST} got a receipt${flooded.errors.length > 0 ? ` (the others: ${flooded.errors.join('; ')})` : ''}; meanwhile the host used ${formatNumber(100 * hostShare)} % of a core, the attackers and the honest sender (one process) ${formatNumber(100 * attackerShare)} %, on ${availableParallelism()} cores`,
      ipms: `${formatNumber(floodP50, 1)} ms`,
      baseline: `${formatNumber(quietP50, 1)} ms (same host, quiet)`,
      ratio: `${formatNumber(floodP50 / quietP50, 2)} ×`,
      target: '≤ 3 × quiet',
      met: flooded.ok === HONEST && floodP50 <= 3 * quietP50
    })

    // 3. Idle connections held open.
    const idle = await idleConnections(host.address, IDLE, i => floodAddress(i, 40, 10, 30))
    const held = idle.open()
    const during = await honest(host, await requests(owner, alice, HONEST))
    await idle.stop()
    rows.push({
      measure: `honest deliveries that get a receipt (fresh identity each, one after another) while ${IDLE} idle fresh-identity connections from 40 addresses are held open (${held} accepted by the host)`,
      ipms: `${during.ok}/${HONEST} (${formatNumber(100 * during.ok / HONEST)} %)${during.errors.length > 0 ? `; the others: ${during.errors.join('; ')}` : ''}`,
      baseline: `${quiet.ok}/${HONEST} (same host, quiet)`,
      ratio: `${formatNumber(during.ok / Math.max(1, quiet.ok), 2)} ×`,
      target: '100 %',
      met: during.ok === HONEST
    })
  } finally {
    await host.stop()
  }
  return rows
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await printRows(benchAbuse)
