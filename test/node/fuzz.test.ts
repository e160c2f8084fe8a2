/**
 * Fuzzing a host's two open protocols, /ipms/deliver and /ipms/sync, for about 20 s: random bytes,
 * random CBOR, and valid requests mutated (bytes flipped, cut, spliced, length prefixes bent), from
 * fresh identities on many source addresses, against a host in a process of its own. The host must
 * not crash, must answer only with typed refusals (or end a sync stream it cannot read, §10), must
 * stay within a bounded memory, and must give an honest sender its receipt right after.
 * The seed is printed; FUZZ_SEED=<n> replays a run.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import { lpStream } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from '@libp2p/interface'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { DELIVER_PROTOCOL, deliverTo } from '../../src/node/deliver.ts'
import { SYNC_PROTOCOL } from '../../src/node/sync.ts'
import { withFreshSender } from '../../src/node/sender.ts'
import { nodeFrom } from '../helpers/flood.ts'
import { startHostChild, type HostChild } from '../helpers/host-child.ts'
import { randomEntryHash, stampedMail } from '../helpers/inbox.ts'

const BITS = 4
const MiB = 1024 * 1024
const DURATION_MS = 18_000
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31)
/** What a host may answer a fuzzed deliver request. */
const DELIVER_CODES = new Set(['ERR_MALFORMED', 'ERR_TOO_LARGE', 'ERR_NOT_HOSTED', 'ERR_BAD_ENVELOPE', 'ERR_STALE', 'ERR_RATE_LIMITED', 'ERR_OVER_QUOTA'])

let owner: Identity, alice: Identity
let host: HostChild
before(async () => {
  [owner, alice] = await Promise.all([createIdentity(), createIdentity()])
  host = await startHostChild(owner.peerId, BITS)
})
after(async () => { await host?.stop() })

/** mulberry32: a small seeded PRNG, so that a failing run can be replayed. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

const stamped = async (body: string): ReturnType<typeof stampedMail> => await stampedMail(alice, owner.peerId, BITS, body)

const varint = (n: number): number[] => {
  const out: number[] = []
  while (n >= 0x80) { out.push((n % 0x80) | 0x80); n = Math.floor(n / 0x80) }
  out.push(n)
  return out
}

test(`fuzzing /ipms/deliver and /ipms/sync for ${DURATION_MS / 1000} s (seed ${SEED}): no crash, typed refusals only, bounded memory, honest delivery right after`, { timeout: 120_000 }, async () => {
  const random = prng(SEED)
  const int = (n: number): number => Math.floor(random() * n)
  const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256))
  const valid = await stamped('a valid request, to mutate')
  const deliverRequest = dagCbor.encode({ v: 1, t: 'deliver', ...valid })
  const hello = dagCbor.encode({ v: 1, t: 'hello', inbox: valid.inbox, heads: [randomEntryHash()], have: [], want: [] })
  /** A random CBOR value, `depth` levels at most. */
  const value = (depth: number): unknown => {
    switch (int(depth > 0 ? 8 : 5)) {
      case 0: return int(2 ** 31) - 2 ** 30
      case 1: return bytes(int(64))
      case 2: return ['v', 't', 'deliver', 'hello', 'inbox', 'mail', 'envelope', valid.inbox][int(8)]
      case 3: return random() < 0.5
      case 4: return null
      case 5: return Array.from({ length: int(6) }, () => value(depth - 1))
      default: return Object.fromEntries(Array.from({ length: int(6) }, () => [['v', 't', 'inbox', 'mail', 'envelope', 'heads', 'have', 'want', 'grant', 'x'][int(10)], value(depth - 1)]))
    }
  }
  const mutate = (input: Uint8Array): Uint8Array => {
    const out = [...input]
    for (let i = 0, n = 1 + int(8); i < n; i++) {
      const at = int(out.length + 1)
      switch (int(4)) {
        case 0: out[at] = int(256); break
        case 1: out.splice(at, int(16)); break
        case 2: out.splice(at, 0, ...bytes(int(16))); break
        default: out.length = Math.min(out.length, at)
      }
    }
    return Uint8Array.from(out.map(b => b ?? 0))
  }
  /** One fuzzed message: the raw bytes to send (with or without a proper length prefix). */
  const message = (protocol: string): { raw: Uint8Array, framed: boolean } => {
    const base = protocol === DELIVER_PROTOCOL ? deliverRequest : hello
    switch (int(6)) {
      case 0: return { raw: bytes(int(2048)), framed: true }
      case 1: return { raw: dagCbor.encode(value(4)), framed: true }
      case 2: case 3: return { raw: mutate(base), framed: true }
      case 4: { const body = random() < 0.5 ? base : mutate(base); return { raw: Uint8Array.from([...mutate(Uint8Array.from(varint(body.byteLength))), ...body]), framed: false } }
      default: return { raw: bytes(int(64)), framed: false }
    }
  }

  const quietRss = host.rss()
  let peakRss = quietRss
  const outcomes = new Map<string, number>()
  const unexpected: string[] = []
  const deadline = Date.now() + DURATION_MS
  let attackerIndex = 0

  const attacker = async (): Promise<void> => {
    while (Date.now() < deadline) {
      // A fresh identity from a new address and /24 every 20 messages: the rate limits stay out of the way.
      const index = attackerIndex++
      let node: Libp2p | undefined
      try {
        node = await nodeFrom(`127.9.${index % 250}.${(Math.floor(index / 250) % 250) + 1}`)
        await node.dial(multiaddr(host.address), { signal: AbortSignal.timeout(10_000) })
        for (let i = 0; i < 20 && Date.now() < deadline; i++) {
          const protocol = random() < 0.5 ? DELIVER_PROTOCOL : SYNC_PROTOCOL
          const { raw, framed } = message(protocol)
          const outcome = await exchange(node, protocol, raw, framed)
          const key = `${protocol === DELIVER_PROTOCOL ? 'deliver' : 'sync'} ${outcome}`
          outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
          const typed = outcome === 'aborted' || outcome === 'no answer' ||
            (protocol === DELIVER_PROTOCOL ? outcome === 'receipt' || (outcome.startsWith('refused:') && DELIVER_CODES.has(outcome.slice(8))) : outcome === 'refused:ERR_SYNC_REFUSED')
          if (!typed) unexpected.push(`${protocol} ${outcome} for ${Buffer.from(raw.subarray(0, 32)).toString('hex')}`)
        }
      } finally {
        await node?.stop()
      }
      peakRss = Math.max(peakRss, host.rss())
      assert.equal(host.child.exitCode, null, 'the host process is alive')
    }
  }
  await Promise.all(Array.from({ length: 4 }, attacker))

  console.log(`fuzz seed ${SEED}: ${[...outcomes].map(([k, n]) => `${k} ×${n}`).join(', ')}; host RSS ${Math.round(quietRss / MiB)} → peak ${Math.round(peakRss / MiB)} MiB`)
  assert.deepEqual(unexpected, [])
  assert.ok([...outcomes.values()].reduce((a, b) => a + b, 0) >= 100, 'at least 100 messages were sent')
  assert.ok(peakRss - quietRss < 192 * MiB, `host RSS grew by ${Math.round((peakRss - quietRss) / MiB)} MiB`)
  assert.equal(host.child.exitCode, null, 'the host process is alive')
  const honest = await withFreshSender(async (libp2p, dial) => {
    await dial(host.address, AbortSignal.timeout(20_000))
    return await deliverTo(libp2p, host.peerId, await stamped('right after the fuzz'), { timeoutMs: 20_000 })
  })
  assert.equal(honest.host, host.peerId)
})

/** Send one message on a new stream; the host's answer as `t:code`, `aborted` (stream reset) or `no answer` (it closed). */
async function exchange (node: Libp2p, protocol: string, raw: Uint8Array, framed: boolean): Promise<string> {
  let stream
  try {
    stream = await node.dialProtocol(peerIdFromString(host.peerId), protocol, { signal: AbortSignal.timeout(10_000) })
  } catch {
    return 'aborted'
  }
  const lp = lpStream(stream, { maxDataLength: 4 * MiB })
  try {
    if (framed) await lp.write(raw, { signal: AbortSignal.timeout(10_000) })
    else stream.send(raw)
    await stream.close({ signal: AbortSignal.timeout(10_000) }) // nothing more is coming: a cut frame ends here
    const frame = await lp.read({ signal: AbortSignal.timeout(10_000) })
    const answer = dagCbor.decode(frame.subarray()) as { t?: string, code?: string }
    return answer.t === 'receipt' ? 'receipt' : `${String(answer.t)}:${String(answer.code)}`
  } catch (err) {
    return (err as Error).name === 'UnexpectedEOFError' ? 'no answer' : 'aborted'
  } finally {
    stream.abort(new Error('done'))
  }
}
