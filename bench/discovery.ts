/**
 * Finding an owner by peer-id on the private IPMS DHT (issue #6), on 20 real nodes over loopback:
 * 1. cold lookup: a sender's fresh identity starts, dials one bootstrap node, and finds the hosts
 *    record (`findDestination`, settling on the newest of 3 answers), against a raw kad-dht `get`
 *    of the same key from a node already in the DHT, run to its end as kad-dht does;
 * 2. cached lookup: the card found a moment ago (`openCardCache`), against the cold lookup;
 * 3. send by peer-id, end to end (lookup + seal + stamp at 8 bits + deliver + verified receipt),
 *    against the same send by card (`sendMail` with the card already known).
 * Rows are context: the issue sets no target for them.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createIdentity } from '../src/identity/identity.ts'
import { createCard } from '../src/hosting/card.ts'
import { dhtOf, publishHostsRecord, waitForDhtPeers } from '../src/discovery/dht.ts'
import { findDestination } from '../src/discovery/find.ts'
import { hostsRecordKey } from '../src/discovery/hosts-record.ts'
import { openCardCache } from '../src/home/card-cache.ts'
import { sendMail } from '../src/node/send-mail.ts'
import { connect, startTestNode, type TestNode } from '../test/helpers/nodes.ts'
import { startReplica } from '../test/helpers/replicas.ts'
import { formatNumber, median, printRows, type Row } from './row.ts'

const NODES = 20
const LOOKUPS = 20
const SENDS = 20
const BITS = 8

const ms = (value: number): string => `${formatNumber(value, 1)} ms`
const p90 = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * 0.9))]!
const stats = (values: number[]): string => `median ${ms(median(values))}, p90 ${ms(p90(values))}`

export async function benchDiscovery (): Promise<Row[]> {
  const owner = await createIdentity()
  // The owner's host takes deliveries; 19 more nodes make the DHT. Each joins through two
  // earlier nodes, so the network is not a star.
  const host = await startReplica({ grantsFrom: [owner] })
  const others: TestNode[] = []
  const nodes: TestNode[] = [host]
  const home = await mkdtemp(join(tmpdir(), 'ipms-bench-dht-'))
  try {
    for (let i = 1; i < NODES; i++) {
      const node = await startTestNode()
      for (const peer of [nodes[0]!, nodes[Math.floor(Math.random() * nodes.length)]!]) await connect(node.node, peer.node).catch(() => {})
      nodes.push(node)
      others.push(node)
    }
    for (const n of nodes) await waitForDhtPeers(n.node.libp2p, AbortSignal.timeout(10_000))
    await host.inbox(owner.peerId, BITS)
    const card = createCard(owner, [{ peer: host.node.peerId, addrs: host.node.multiaddrs().map(a => a.replace(/\/p2p\/.*/, '')) }], BITS, Date.now(), 86_400_000)
    const publisher = others[0]!
    const storedOn = await publishHostsRecord(publisher.node.libp2p, card, { signal: AbortSignal.timeout(30_000) })

    // 1. Cold lookups from a fresh identity, each through a different bootstrap node.
    const cold: number[] = []
    const raw: number[] = []
    for (let i = 0; i < LOOKUPS; i++) {
      const bootstrap = [others[1 + (i % (others.length - 1))]!.node.multiaddrs()[0]!]
      let t = performance.now()
      const found = await findDestination(owner.peerId, { bootstrap, signal: AbortSignal.timeout(30_000) })
      cold.push(performance.now() - t)
      if (found.via !== 'dht') throw new Error('the bench lookup did not find the record')
      const reader = others[1 + ((i + 7) % (others.length - 1))]!
      t = performance.now()
      for await (const _ of dhtOf(reader.node.libp2p).get(hostsRecordKey(owner.peerId), { signal: AbortSignal.timeout(30_000) })) { /* to the end, as kad-dht's get runs */ }
      raw.push(performance.now() - t)
    }

    // 2. Cached: the card found a moment ago.
    const cache = openCardCache(home)
    await cache.put(card)
    const cached: number[] = []
    for (let i = 0; i < 200; i++) {
      const t = performance.now()
      if (await cache.get(owner.peerId) === undefined) throw new Error('cache miss')
      cached.push(performance.now() - t)
    }

    // 3. Send by peer-id, end to end, against send by card.
    const sender = await createIdentity()
    const byPeerId: number[] = []
    const byCard: number[] = []
    for (let i = 0; i < SENDS; i++) {
      const bootstrap = [others[1 + (i % (others.length - 1))]!.node.multiaddrs()[0]!]
      let t = performance.now()
      const { destination } = await findDestination(owner.peerId, { bootstrap, signal: AbortSignal.timeout(30_000) })
      await sendMail({ subject: 'bench', body: 'x'.repeat(1024) }, { from: sender, card: destination })
      byPeerId.push(performance.now() - t)
      t = performance.now()
      await sendMail({ subject: 'bench', body: 'x'.repeat(1024) }, { from: sender, card })
      byCard.push(performance.now() - t)
    }

    const where = `${NODES}-node loopback DHT (/ipms/kad/1.0.0), record stored on ${storedOn} peers`
    return [
      {
        measure: `lookup by peer-id, cold: fresh identity starts, dials one bootstrap node, finds the hosts record, newest of 3 answers (${where}; ${LOOKUPS} lookups)`,
        ipms: stats(cold),
        baseline: `${stats(raw)} (raw kad-dht get of the same key from a node already in the DHT, run to its end as kad-dht does)`,
        ratio: `${formatNumber(median(raw) / median(cold), 2)} ×`,
        target: '— (no target in the issue)',
        met: null
      },
      {
        measure: 'lookup by peer-id, cached: a card found on the DHT in the last 10 minutes (<home>/cards-cache.json)',
        ipms: stats(cached),
        baseline: `${stats(cold)} (the cold lookup above)`,
        ratio: `${formatNumber(median(cold) / median(cached), 0)} ×`,
        target: '— (no target in the issue)',
        met: null
      },
      {
        measure: `send by peer-id, end to end: cold lookup + seal + stamp (${BITS} bits) + deliver + verified receipt, 1 KiB body (${where}; ${SENDS} sends)`,
        ipms: stats(byPeerId),
        baseline: `${stats(byCard)} (the same send by card, no lookup)`,
        ratio: `${formatNumber(median(byCard) / median(byPeerId), 2)} ×`,
        target: '— (no target in the issue)',
        met: null
      }
    ]
  } finally {
    await Promise.all(nodes.map(async n => await n.cleanup()))
    await rm(home, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await printRows(benchDiscovery)
