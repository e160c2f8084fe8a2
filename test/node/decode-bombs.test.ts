/**
 * Decode bombs and buffered bytes against a host in a process of its own (so that its CPU time and
 * resident memory are its own): requests of millions of tiny CBOR items to /ipms/deliver and
 * /ipms/sync, and partial 4 MiB frames left hanging on many streams. Each must be refused from its
 * headers or its length prefix, the host must stay small, and an honest delivery must go through
 * right after (PROTOCOL §1, §10, §12).
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import { lpStream } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from '@libp2p/interface'
import { inboxAddress } from '../../src/access/inbox-address.ts'
import { powChallenge, solvePowSync } from '../../src/crypto/pow/index.ts'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { sealMail } from '../../src/mail/seal.ts'
import { DELIVER_PROTOCOL, deliverTo } from '../../src/node/deliver.ts'
import { SYNC_PROTOCOL } from '../../src/node/sync.ts'
import { withFreshSender } from '../../src/node/sender.ts'
import { nodeFrom } from '../helpers/flood.ts'
import { startHostChild, type HostChild } from '../helpers/host-child.ts'
import { waitFor } from '../helpers/wait.ts'

const BITS = 4
const MiB = 1024 * 1024
let owner: Identity, alice: Identity
let host: HostChild
before(async () => {
  [owner, alice] = await Promise.all([createIdentity(), createIdentity()])
  host = await startHostChild(owner.peerId, BITS)
})
after(async () => { await host?.stop() })

/** A CBOR array of `bytes - 5` empty maps: about as many items as bytes. */
export function decodeBomb (bytes: number): Uint8Array {
  const bomb = new Uint8Array(bytes).fill(0xa0)
  const count = bytes - 5
  bomb.set([0x9a, (count >>> 24) & 0xff, (count >>> 16) & 0xff, (count >>> 8) & 0xff, count & 0xff])
  return bomb
}

/** Send `frame` on a new stream of `protocol` from `libp2p`; the answer as `t:code`, or `aborted`. */
async function rawAnswer (libp2p: Libp2p, protocol: string, frame: Uint8Array): Promise<string> {
  const stream = await libp2p.dialProtocol(peerIdFromString(host.peerId), protocol, { signal: AbortSignal.timeout(20_000) })
  const lp = lpStream(stream, { maxDataLength: 64 * 1024 })
  try {
    // Read while writing: the host answers a bomb from its first bytes and takes no more of it.
    void lp.write(frame, { signal: AbortSignal.timeout(20_000) }).catch(() => {})
    const answer = dagCbor.decode((await lp.read({ signal: AbortSignal.timeout(20_000) })).subarray()) as { t: string, code: string }
    return `${answer.t}:${answer.code}`
  } catch {
    return 'aborted'
  } finally {
    stream.abort(new Error('done'))
  }
}

async function honestDelivery (): Promise<string> {
  const inbox = inboxAddress(owner.peerId, BITS)
  const sealed = await sealMail({ body: 'after the bombs' }, { from: alice, to: owner.peerId, inbox })
  const ts = Date.now()
  const pow = solvePowSync(powChallenge({ bits: BITS, ts, inbox, envelopeCid: sealed.cid }), BITS)
  const request = { inbox, envelope: sealed.envelope, mail: { op: 'MAIL' as const, v: 1 as const, env: sealed.cid.toString(), size: sealed.envelope.byteLength, ts, pow } }
  return await withFreshSender(async (libp2p, dial) => {
    await dial(host.address, AbortSignal.timeout(20_000))
    return (await deliverTo(libp2p, host.peerId, request, { timeoutMs: 20_000 })).host
  })
}

test('12 decode bombs of 4 MiB to /ipms/deliver and 12 to /ipms/sync: refused from their headers; host CPU and memory stay low; an honest mail goes through', { timeout: 120_000 }, async () => {
  const rss = host.rss()
  const cpu = host.cpuMs()
  const bomb = decodeBomb(4 * MiB)
  const helloBomb = decodeBomb(MiB - 16) // within the hello's cap: refused by its item count
  const attackers = await Promise.all(Array.from({ length: 12 }, async (_, i) => await nodeFrom(`127.7.0.${i + 1}`)))
  try {
    await Promise.all(attackers.map(async a => { await a.dial(multiaddr(host.address)) }))
    const answers = await Promise.all(attackers.flatMap(a => [
      rawAnswer(a, DELIVER_PROTOCOL, bomb),
      rawAnswer(a, SYNC_PROTOCOL, bomb),
      rawAnswer(a, SYNC_PROTOCOL, helloBomb)
    ]))
    const deliverAnswers = answers.filter((_, i) => i % 3 === 0)
    assert.deepEqual(new Set(deliverAnswers), new Set(['refused:ERR_MALFORMED']), deliverAnswers.join())
    // A sync responder refuses a hello it cannot read by ending the stream (PROTOCOL §10).
    assert.ok(answers.filter((_, i) => i % 3 !== 0).every(a => a === 'aborted'), answers.join())
  } finally {
    await Promise.all(attackers.map(async a => { await a.stop() }))
  }
  const cpuSpent = host.cpuMs() - cpu
  const grown = host.rss() - rss
  assert.ok(cpuSpent < 6_000, `the host spent ${cpuSpent} ms of CPU on 36 bombs`)
  assert.ok(grown < 160 * MiB, `the host grew by ${Math.round(grown / MiB)} MiB`)
  assert.equal(await honestDelivery(), host.peerId)
})

test('128 streams on one connection each left hanging in a 4 MiB frame: refused at their length prefix, the host stays small; an honest mail goes through', { timeout: 120_000 }, async () => {
  const rss = host.rss()
  const attacker = await nodeFrom('127.7.1.1')
  try {
    await attacker.dial(multiaddr(host.address))
    const partial = new Uint8Array(4 * MiB - 64 * 1024)
    const prefix = Uint8Array.from([0x80, 0x80, 0x80, 0x02]) // varint 4 MiB
    const streams = await Promise.all(Array.from({ length: 128 }, async () => await attacker.dialProtocol(peerIdFromString(host.peerId), DELIVER_PROTOCOL, { signal: AbortSignal.timeout(20_000) }).catch(() => undefined)))
    for (const stream of streams) {
      try { stream?.send(prefix); stream?.send(partial) } catch {} // the host may have reset it already (32 streams at once)
    }
    // Give the host every byte it is willing to take: until no stream has anything left to send.
    const live = streams.filter(s => s !== undefined)
    await waitFor(live.flatMap(s => [[s, 'drain'], [s, 'idle'], [s, 'close']] as Array<[EventTarget, string]>),
      () => live.every(s => s.status !== 'open' || s.writeBufferLength === 0), AbortSignal.timeout(60_000))
    const grown = host.rss() - rss
    assert.ok(grown < 128 * MiB, `the host grew by ${Math.round(grown / MiB)} MiB while 128 partial frames hung`)
    for (const stream of streams) stream?.abort(new Error('done'))
  } finally {
    await attacker.stop()
  }
  assert.equal(await honestDelivery(), host.peerId)
})
