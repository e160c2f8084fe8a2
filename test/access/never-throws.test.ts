/**
 * Property test (issue #10, item 9): every check that runs on a peer's decoded data gives a verdict
 * or throws only an IpmsError, never anything else, on thousands of random dag-cbor values: nested
 * maps and lists, bigints, CIDs, bytes, strings, maps with `toString` / `valueOf` / `__proto__`
 * keys, and valid records with one field replaced. Checks documented as "never throws" must not
 * throw at all.
 *
 * Values go through dag-cbor (encode, decode) so that they are exactly what a decoder hands the
 * checks. The generator is seeded; a failure names its seed and case.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { base58btc } from 'multiformats/bases/base58'
import * as dagCbor from '@ipld/dag-cbor'
import { clockProblem, entryShapeProblem } from '../../src/access/entry-shape.ts'
import { inboxRules } from '../../src/access/inbox-rules.ts'
import { inboxAddress, inboxParams } from '../../src/access/inbox-address.ts'
import { mailPayloadProblem, prunePayloadProblem, signPrune } from '../../src/access/payloads.ts'
import { GRANT_PREFIX, CARD_PREFIX } from '../../src/constants.ts'
import { checkHostsRecord, createHostsRecordValidator, hostsRecordKey } from '../../src/discovery/hosts-record.ts'
import { IpmsError, isErrorCode, type Problem } from '../../src/errors.ts'
import { createCard, verifyCard } from '../../src/hosting/card.ts'
import { createGrant, verifyGrant } from '../../src/hosting/grant.ts'
import { createIdentity } from '../../src/identity/identity.ts'
import { verifyReceipt } from '../../src/node/deliver.ts'
import { envelopeList, hashList, ownerOrGrantee } from '../../src/node/sync.ts'
import type { Inbox } from '../../src/stores/orbitdb/open-inbox.ts'
import { mailPayload, randomEntryHash, randomEnvelopeCid } from '../helpers/inbox.ts'

const CASES = 3000
const BITS = 4
const owner = await createIdentity()
const host = await createIdentity()
const INBOX = inboxAddress(owner.peerId, BITS)
const rules = inboxRules(inboxParams(owner.peerId, BITS))
const validator = createHostsRecordValidator()

/** xorshift32: a seeded generator, so a failure can be replayed. */
function generator (seed: number): () => number {
  let x = seed | 0 || 1
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    return (x >>> 0) / 0x1_0000_0000
  }
}

const KEYS = [
  'v', 'op', 'env', 'size', 'ts', 'pow', 'entries', 'sig', 'owner', 'host', 'issued', 'expires', 'bits', 'hosts', 'peer',
  'addrs', 't', 'inbox', 'heads', 'have', 'want', 'blocks', 'grant', 'entry', 'time', 'id', 'clock', 'next', 'refs',
  'payload', 'key', 'identity', 'toString', 'valueOf', '__proto__', 'constructor', 'hash', ''
]

function randomValue (random: () => number, depth: number, strings: unknown[]): unknown {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
  const kind = Math.floor(random() * (depth > 0 ? 16 : 10))
  switch (kind) {
    case 0: return null
    case 1: return random() < 0.5
    case 2: return Math.floor(random() * 2000) - 1000
    case 3: return pick([0, 1, 2, -1, 2 ** 32, 2 ** 40, 2 ** 53 - 1, -(2 ** 53) + 1, 0.5, 1e300, -0.25])
    case 4: return pick([2n ** 64n - 1n, 2n ** 53n, -(2n ** 64n), 2n ** 63n])
    case 5: return pick(strings)
    case 6: return 'x'.repeat(Math.floor(random() * 300))
    case 7: return crypto.getRandomValues(new Uint8Array(pick([0, 1, 8, 32, 63, 64, 65])))
    case 8: return randomEnvelopeCid()
    case 9: return pick(['02' + 'ab'.repeat(32), 'ab'.repeat(32), 'AB'.repeat(64)])
    case 12: case 13: {
      // A map that breaks String() and template literals, or sets its own prototype once decoded.
      const hostile: Record<string, unknown> = {}
      Object.defineProperty(hostile, pick(['toString', 'valueOf', '__proto__']), { value: randomValue(random, depth - 1, strings), enumerable: true, configurable: true, writable: true })
      return hostile
    }
    case 10: case 11: {
      const map: Record<string, unknown> = {}
      const n = Math.floor(random() * 6)
      for (let i = 0; i < n; i++) Object.defineProperty(map, pick(KEYS), { value: randomValue(random, depth - 1, strings), enumerable: true, configurable: true, writable: true })
      return map
    }
    default: return Array.from({ length: Math.floor(random() * 5) }, () => randomValue(random, depth - 1, strings))
  }
}

/** Replace, add or drop one field of a valid record (the cases most likely to get far into a check). */
function mutate (random: () => number, record: Record<string, unknown>, strings: unknown[]): unknown {
  const copy: Record<string, unknown> = { ...record }
  const key = random() < 0.8 ? Object.keys(copy)[Math.floor(random() * Object.keys(copy).length)]! : KEYS[Math.floor(random() * KEYS.length)]!
  if (random() < 0.15) delete copy[key]
  else Object.defineProperty(copy, key, { value: randomValue(random, 2, strings), enumerable: true, configurable: true, writable: true })
  return copy
}

/** Through dag-cbor: what a decoder gives (a `__proto__` key sets the prototype). Undefined when it cannot be encoded. */
function decoded (value: unknown): { value: unknown, bytes: Uint8Array } | undefined {
  try {
    const bytes = dagCbor.encode(value)
    return { value: dagCbor.decode(bytes), bytes }
  } catch {
    return undefined
  }
}

/** A check's verdict on bad data: one of IPMS's codes and a message. */
const isProblem = (verdict: unknown): boolean =>
  typeof verdict === 'object' && verdict !== null && isErrorCode((verdict as Problem).code) && typeof (verdict as Problem).message === 'string'

test(`${CASES} random and mutated dag-cbor values: every check gives a verdict or an IpmsError, never another exception`, async () => {
  const seed = Math.floor(Math.random() * 0x7fff_ffff)
  const random = generator(seed)
  const entryHashes = [randomEntryHash(), randomEntryHash()]
  const strings: unknown[] = ['MAIL', 'PRUNE', 'hello', 'blocks', owner.peerId, host.peerId, INBOX, ...entryHashes, randomEnvelopeCid().toString(), '']
  const grant = createGrant(owner, host.peerId, { ttlMs: 60_000 })
  const card = createCard(owner, [{ peer: host.peerId, addrs: ['/ip4/127.0.0.1/tcp/4001'] }], BITS, Date.now(), 60_000)
  const receipt = { v: 1, inbox: INBOX, entry: entryHashes[0], env: strings[9], host: host.peerId, time: 1, sig: new Uint8Array(64) }
  const valid: Array<Record<string, unknown>> = [
    { ...mailPayload(INBOX, BITS) }, { ...signPrune(INBOX, entryHashes, 1, owner.seed) }, { ...grant }, { ...card }, receipt,
    { id: INBOX, payload: mailPayload(INBOX, BITS), next: [], refs: [], clock: { id: 'ab'.repeat(32), time: 1 }, v: 2, key: 'ab'.repeat(32), identity: 'ab'.repeat(32), sig: 'cd'.repeat(64) },
    { v: 1, t: 'hello', inbox: INBOX, heads: entryHashes, have: [], want: [] }
  ]
  const inbox = { owner: owner.peerId, address: INBOX } as unknown as Inbox
  const recordKey = hostsRecordKey(owner.peerId)
  let checked = 0
  for (let i = 0; i < CASES; i++) {
    const raw = random() < 0.5 ? mutate(random, valid[i % valid.length]!, strings) : randomValue(random, 4, strings)
    const input = decoded(raw)
    if (input === undefined) continue
    const { value, bytes } = input
    const where = `seed ${seed}, case ${i}`
    const neverThrows: Array<[string, () => unknown]> = [
      ['mailPayloadProblem', () => mailPayloadProblem(value, INBOX, BITS)],
      ['prunePayloadProblem', () => prunePayloadProblem(value, INBOX, owner.publicKey)],
      ['entryShapeProblem', () => entryShapeProblem(value, INBOX)],
      ['inbox rules', () => rules(value)],
      ['clockProblem', () => clockProblem(value, [1, undefined])],
      ['ownerOrGrantee', () => ownerOrGrantee(host.peerId, inbox, bytes)]
    ]
    for (const [name, check] of neverThrows) {
      let verdict: unknown
      assert.doesNotThrow(() => { verdict = check() }, `${name} threw (${where})`)
      assert.ok(verdict === undefined || typeof verdict === 'boolean' || isProblem(verdict), `${name} gave no verdict (${where})`)
    }
    const typed: Array<[string, () => unknown]> = [
      ['verifyGrant (bytes)', () => verifyGrant(bytes)],
      ['verifyGrant (text)', () => verifyGrant(GRANT_PREFIX + base58btc.encode(bytes))],
      ['verifyCard (bytes)', () => verifyCard(bytes)],
      ['verifyCard (text)', () => verifyCard(CARD_PREFIX + base58btc.encode(bytes))],
      ['verifyReceipt', () => verifyReceipt(value, { inbox: INBOX, env: strings[9] as string })],
      ['checkHostsRecord', () => checkHostsRecord(recordKey, bytes)],
      ['hashList', () => hashList(value)],
      ['envelopeList', () => envelopeList(value)]
    ]
    for (const [name, check] of typed) {
      try { check() } catch (err) {
        assert.ok(err instanceof IpmsError, `${name} threw ${(err as Error)?.name}: ${(err as Error)?.message} (${where})`)
      }
    }
    try { validator(recordKey, bytes) } catch (err) {
      assert.ok(err instanceof IpmsError, `the hosts-record validator threw ${(err as Error)?.name}: ${(err as Error)?.message} (${where})`)
    }
    checked++
  }
  assert.ok(checked > CASES / 2, `only ${checked} of ${CASES} values could be encoded`)
})

test('the vector of the issue: v = { toString: <a CID> } (and valueOf, __proto__) gets a verdict from the payload checks and an IpmsError from the records', () => {
  const good = mailPayload(INBOX, BITS)
  const prune = signPrune(INBOX, [randomEntryHash()], 1, owner.seed)
  const grant = createGrant(owner, host.peerId)
  for (const key of ['toString', 'valueOf', '__proto__']) {
    const v = decoded(Object.defineProperty({}, key, { value: randomEnvelopeCid(), enumerable: true }))!.value
    assert.equal(mailPayloadProblem({ ...good, v }, INBOX, BITS)?.code, 'ERR_MALFORMED', key)
    assert.equal(prunePayloadProblem({ ...prune, v }, INBOX, owner.publicKey)?.code, 'ERR_MALFORMED', key)
    assert.throws(() => verifyGrant(dagCbor.encode({ ...grant, v })), IpmsError, key)
  }
})
