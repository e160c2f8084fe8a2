/**
 * Host policy at delivery and in retention, on real nodes: a stale stamp time, an inbox over its
 * quota, a flood on one connection, each refused with its code while honest senders still get
 * through; old unpruned mail dropped after the retention period.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { inboxAddress } from '../../src/access/inbox-address.ts'
import type { MailPayload } from '../../src/access/payloads.ts'
import { powChallenge, solvePowSync } from '../../src/crypto/pow/index.ts'
import { DeliveryRefusedError } from '../../src/errors.ts'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { sealMail } from '../../src/mail/seal.ts'
import { deliverTo } from '../../src/node/deliver.ts'
import { withFreshSender } from '../../src/node/sender.ts'
import { putMail, replicaPool, type Replica } from '../helpers/replicas.ts'
import { waitFor } from '../helpers/wait.ts'
import { nodeFrom } from '../helpers/flood.ts'
import { multiaddr } from '@multiformats/multiaddr'

const BITS = 8
let owner: Identity, alice: Identity
const replica = replicaPool()
before(async () => { [owner, alice] = await Promise.all([createIdentity(), createIdentity()]) })
after(replica.stopAll)

async function stamped (body: string, ts = Date.now()): Promise<{ inbox: string, mail: MailPayload, envelope: Uint8Array }> {
  const inbox = inboxAddress(owner.peerId, BITS)
  const sealed = await sealMail({ body }, { from: alice, to: owner.peerId, inbox })
  const pow = solvePowSync(powChallenge({ bits: BITS, ts, inbox, envelopeCid: sealed.cid }), BITS)
  return { inbox, envelope: sealed.envelope, mail: { op: 'MAIL', v: 1, env: sealed.cid.toString(), size: sealed.envelope.byteLength, ts, pow } }
}

/** Deliver each request in turn over one connection; the outcome of each (receipt host or code). */
async function overOneConnection (host: Replica, requests: Array<Awaited<ReturnType<typeof stamped>>>): Promise<string[]> {
  return await withFreshSender(async (libp2p, dial) => {
    await dial(host.node.multiaddrs()[0]!)
    const outcomes: string[] = []
    for (const request of requests) {
      try {
        outcomes.push((await deliverTo(libp2p, host.node.peerId, request)).host === host.node.peerId ? 'receipt' : 'other host')
      } catch (err) {
        outcomes.push(err instanceof DeliveryRefusedError ? err.code : String(err))
      }
    }
    return outcomes
  })
}

test('a stamp time far from the host\'s clock → ERR_STALE', async () => {
  const host = await replica({ policy: { maxClockSkewMs: 60_000 } })
  await host.inbox(owner.peerId, BITS)
  const outcomes = await overOneConnection(host, [await stamped('from the past', Date.now() - 120_000), await stamped('from the future', Date.now() + 120_000), await stamped('now')])
  assert.deepEqual(outcomes, ['ERR_STALE', 'ERR_STALE', 'receipt'])
})

test('an inbox over its quota → ERR_OVER_QUOTA; after the owner prunes, it accepts again', async () => {
  const host = await replica({ policy: { quotaBytes: 3 * 1120 } }) // three 1 KiB-bucket envelopes
  const inbox = await host.inbox(owner.peerId, BITS)
  const requests = await Promise.all([1, 2, 3, 4].map(async i => await stamped(`mail ${i}`)))
  assert.deepEqual(await overOneConnection(host, requests), ['receipt', 'receipt', 'receipt', 'ERR_OVER_QUOTA'])
  // The owner reads (prunes) what is there; the quota frees.
  await inbox.prune((await inbox.pending()).map(m => m.hash), owner.seed)
  assert.deepEqual(await overOneConnection(host, [await stamped('after the prune')]), ['receipt'])
})

test('concurrent deliveries cannot pass the quota together: exactly as many receipts as fit', async () => {
  const host = await replica({ policy: { quotaBytes: 3 * 1120 } }) // three 1 KiB-bucket envelopes
  await host.inbox(owner.peerId, BITS)
  const requests = await Promise.all(Array.from({ length: 8 }, async (_, i) => await stamped(`at once ${i}`)))
  const outcomes = await withFreshSender(async (libp2p, dial) => {
    await dial(host.node.multiaddrs()[0]!)
    // One delivery first lets the connection settle (libp2p resets a connection that opens many streams early).
    const first = await deliverTo(libp2p, host.node.peerId, requests[0]!).then(() => 'receipt', (err: DeliveryRefusedError) => err.code)
    return [first, ...await Promise.all(requests.slice(1).map(async r => await deliverTo(libp2p, host.node.peerId, r).then(() => 'receipt', (err: DeliveryRefusedError) => err.code)))]
  })
  assert.equal(outcomes.filter(o => o === 'receipt').length, 3, outcomes.join())
  assert.equal(outcomes.filter(o => o === 'ERR_OVER_QUOTA').length, 5, outcomes.join())
})

test('a flood on one connection → ERR_RATE_LIMITED past the limit; another sender still gets through; counters go with the connection', async () => {
  const host = await replica({ policy: { deliveriesPerWindow: 3, rateWindowMs: 60_000 } })
  await host.inbox(owner.peerId, BITS)
  const flood = await Promise.all([1, 2, 3, 4, 5].map(async i => await stamped(`flood ${i}`)))
  assert.deepEqual(await overOneConnection(host, flood), ['receipt', 'receipt', 'receipt', 'ERR_RATE_LIMITED', 'ERR_RATE_LIMITED'])
  assert.deepEqual(await overOneConnection(host, [await stamped('an honest sender')]), ['receipt'])
  // Both senders are gone: their counters too (memory stays bounded by the open connections).
  await waitFor([[host.node.libp2p, 'connection:close']], () => host.delivery.trackedConnections() === 0, AbortSignal.timeout(10_000))
})

test('retention: unpruned mail older than the period is dropped from the host, envelopes deleted', async () => {
  const host = await replica()
  const inbox = await host.inbox(owner.peerId, BITS)
  const old = await putMail(inbox, alice, 'old')
  const expired: string[] = []
  inbox.events.on('expired', (env: string) => expired.push(env))
  const cutoff = Date.now() + 1 // everything delivered so far is "old"
  assert.deepEqual(await inbox.expireBefore(cutoff), [old.env])
  assert.deepEqual(expired, [old.env])
  assert.deepEqual(await inbox.pending(), [])
  assert.equal(await inbox.hasEnvelope(old.env), false)
  assert.ok(await inbox.get(old.hash), 'the entry stays in the log')
})

test('fresh identities share their address\'s and their /24\'s rate: many connections do not multiply the limit', async () => {
  // 3 a minute per connection, so 15 per address and 30 per /24 (ADDRESS_RATE_FACTOR, PREFIX_RATE_FACTOR).
  const host = await replica({ policy: { deliveriesPerWindow: 3, rateWindowMs: 60_000 } })
  await host.inbox(owner.peerId, BITS)
  const requests = await Promise.all(Array.from({ length: 36 }, async (_, i) => await stamped(`identity ${i}`)))
  /** Deliver three requests over one fresh connection from `address`; the outcomes. */
  const three = async (address: string, batch: typeof requests): Promise<string[]> => {
    const libp2p = await nodeFrom(address)
    try {
      // An address past its limit may not reconnect for a while: its connection is refused.
      if (!await libp2p.dial(multiaddr(host.node.multiaddrs()[0]!)).then(() => true, () => false)) return batch.map(() => 'denied')
      const outcomes: string[] = []
      for (const request of batch) outcomes.push(await deliverTo(libp2p, host.node.peerId, request).then(() => 'receipt', (err: DeliveryRefusedError) => err.code === 'ERR_DELIVERY' ? 'denied' : err.code))
      return outcomes
    } finally {
      await libp2p.stop()
    }
  }
  // Ten identities from one address: 30 deliveries, 15 get through.
  const oneAddress: string[] = []
  for (let i = 0; i < 10; i++) oneAddress.push(...await three('127.4.0.1', requests.slice((i * 3) % 36, (i * 3) % 36 + 3)))
  assert.equal(oneAddress.filter(o => o === 'receipt').length, 15, oneAddress.join())
  assert.ok(oneAddress.every(o => o === 'receipt' || o === 'ERR_RATE_LIMITED' || o === 'denied'), oneAddress.join())
  assert.ok(oneAddress.includes('denied'), 'past its limit, the address was refused new connections')
  // Identities from other addresses of the same /24: the /24's 30 are 15 used, 15 left.
  const sameNetwork: string[] = []
  for (let i = 0; i < 6; i++) sameNetwork.push(...await three(`127.4.0.${i + 2}`, requests.slice(i * 3, i * 3 + 3)))
  assert.equal(sameNetwork.filter(o => o === 'receipt').length, 15, sameNetwork.join())
  // Another network is not held up.
  assert.deepEqual(await three('127.5.0.1', requests.slice(33, 36)), ['receipt', 'receipt', 'receipt'])
})
