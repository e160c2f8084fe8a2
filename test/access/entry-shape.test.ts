/**
 * Tests of src/access/entry-shape.ts and of the inbox rules built on it (PROTOCOL §9.3, rules
 * version 2): every field of an entry that OrbitDB or IPMS reads is bounded, and the clock is
 * checked against the parents.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { clockProblem, entryShapeProblem, entryTime } from '../../src/access/entry-shape.ts'
import { inboxRules } from '../../src/access/inbox-rules.ts'
import { inboxAddress, inboxParams } from '../../src/access/inbox-address.ts'
import { MAX_ENTRY_CLOCK_TIME, MAX_ENTRY_LINKS } from '../../src/constants.ts'
import { createIdentity } from '../../src/identity/identity.ts'
import { assertProblem, mailPayload, randomEntryHash } from '../helpers/inbox.ts'

const owner = await createIdentity()
const BITS = 4
const INBOX = inboxAddress(owner.peerId, BITS)
const KEY = 'ab'.repeat(32)
const SIG = 'cd'.repeat(64)
const PARENT = randomEntryHash()

/** A well-formed entry (the signature is not checked here: OrbitDB does that after canAppend). */
const good = (fields: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: INBOX,
  payload: mailPayload(INBOX, BITS),
  next: [PARENT],
  refs: [],
  clock: { id: KEY, time: 2 },
  v: 2,
  key: KEY,
  identity: KEY,
  sig: SIG,
  hash: randomEntryHash(),
  ...fields
})

const without = (field: string): Record<string, unknown> => {
  const entry = good()
  delete entry[field]
  return entry
}

describe('entryShapeProblem', () => {
  test('accepts the entries IPMS writes: Ed25519 and secp256k1 keys, no parents at time 1, up to MAX_ENTRY_LINKS links', () => {
    assert.equal(entryShapeProblem(good(), INBOX), undefined)
    assert.equal(entryShapeProblem(without('hash'), INBOX), undefined, 'hash is added by the decoder, not stored')
    const secp = '02' + 'ef'.repeat(32)
    assert.equal(entryShapeProblem(good({ key: secp, identity: secp, clock: { id: secp, time: 2 }, sig: '30'.repeat(71) }), INBOX), undefined)
    assert.equal(entryShapeProblem(good({ next: [], clock: { id: KEY, time: 1 } }), INBOX), undefined)
    const many = Array.from({ length: MAX_ENTRY_LINKS }, () => randomEntryHash())
    assert.equal(entryShapeProblem(good({ next: many, refs: Array.from({ length: MAX_ENTRY_LINKS }, () => randomEntryHash()) }), INBOX), undefined)
    assert.equal(entryShapeProblem(good({ clock: { id: KEY, time: MAX_ENTRY_CLOCK_TIME } }), INBOX), undefined)
  })

  const bad: Array<[string, unknown]> = [
    ['clock.time 2^64 − 1 (a bigint)', good({ clock: { id: KEY, time: 2n ** 64n - 1n } })],
    ['clock.time above MAX_ENTRY_CLOCK_TIME', good({ clock: { id: KEY, time: MAX_ENTRY_CLOCK_TIME + 1 } })],
    ['clock.time 0', good({ clock: { id: KEY, time: 0 } })],
    ['clock.time negative', good({ clock: { id: KEY, time: -1 } })],
    ['clock.time a float', good({ clock: { id: KEY, time: 1.5 } })],
    ['clock.time a string', good({ clock: { id: KEY, time: '2' } })],
    ['clock.time 2 without parents', good({ next: [], clock: { id: KEY, time: 2 } })],
    ['clock.id another key', good({ clock: { id: 'ef'.repeat(32), time: 2 } })],
    ['clock.id a huge string', good({ clock: { id: 'a'.repeat(1_000_000), time: 2 } })],
    ['clock with an extra field', good({ clock: { id: KEY, time: 2, x: 1 } })],
    ['clock a list', good({ clock: [KEY, 2] })],
    ['next with MAX_ENTRY_LINKS + 1 hashes', good({ next: Array.from({ length: MAX_ENTRY_LINKS + 1 }, () => randomEntryHash()) })],
    ['next with 100 000 hashes', good({ next: Array.from({ length: 100_000 }, () => PARENT) })],
    ['next not a list', good({ next: PARENT })],
    ['next with a repeated hash', good({ next: [PARENT, PARENT] })],
    ['next with a base32 CID', good({ next: ['bafyreia25rcgd5ngjjvuvoitznrx5qtrfrbrerllcrgx2eymbm4gymws7y'] })],
    ['refs with a non-hash', good({ refs: [42] })],
    ['a hash in next and refs', good({ refs: [PARENT] })],
    ['v 1', good({ v: 1 })],
    ['v 2n (a bigint)', good({ v: 2n })],
    ['id another inbox', good({ id: inboxAddress(owner.peerId, BITS + 1) })],
    ['id missing', without('id')],
    ['key in uppercase hex', good({ key: KEY.toUpperCase(), identity: KEY.toUpperCase(), clock: { id: KEY.toUpperCase(), time: 2 } })],
    ['key of 31 bytes', good({ key: 'ab'.repeat(31), identity: 'ab'.repeat(31), clock: { id: 'ab'.repeat(31), time: 2 } })],
    ['key bytes', good({ key: new Uint8Array(32) })],
    ['identity an identity hash (not signed: a free copy)', good({ identity: randomEntryHash() })],
    ['sig in uppercase hex', good({ sig: SIG.toUpperCase() })],
    ['sig of 63 bytes for an Ed25519 key', good({ sig: 'cd'.repeat(63) })],
    ['sig missing', without('sig')],
    ['payload missing', without('payload')],
    ['an extra field', good({ bytes: new Uint8Array(4) })],
    ['hash not an entry hash', good({ hash: 'zdpu' })],
    ['a list', [good()]],
    ['null', null],
    ['a map whose prototype is set by a __proto__ key', Object.setPrototypeOf(without('v'), { v: 2 })],
    ['v as { toString: CID }-like object', good({ v: { toString: { '/': 'x' } } })]
  ]
  for (const [name, entry] of bad) {
    test(`refuses ${name}`, () => {
      const problem = entryShapeProblem(entry, INBOX)
      assert.equal(problem?.code, 'ERR_MALFORMED', `${name} passed`)
      assert.equal(typeof problem.message, 'string')
    })
  }
})

describe('clockProblem', () => {
  test('the clock is exactly the parents\' highest time plus one, 1 without parents', () => {
    const at = (time: unknown): unknown => ({ clock: { id: KEY, time } })
    assert.equal(clockProblem(at(1), []), undefined)
    assert.equal(clockProblem(at(8), [3, 7, 5]), undefined)
    for (const [time, parents] of [[2, []], [7, [3, 7]], [9, [3, 7]], [2n, [1]], [8, [3, undefined]]] as Array<[unknown, Array<number | undefined>]>) {
      assert.equal(clockProblem(at(time), parents)?.code, 'ERR_MALFORMED', `time ${String(time)} over ${parents.join(',')}`)
    }
    assert.equal(entryTime(at(5)), 5)
    assert.equal(entryTime(at(2n ** 64n - 1n)), undefined)
    assert.equal(entryTime(null), undefined)
  })
})

describe('inbox rules v2', () => {
  const rules = inboxRules(inboxParams(owner.peerId, BITS))
  test('the shape comes first: a valid stamp does not make a malformed entry acceptable', () => {
    assert.equal(rules(good()), undefined)
    assertProblem(rules(good({ clock: { id: KEY, time: 2n ** 64n - 1n } })), 'ERR_MALFORMED', /clock\.time/)
    assertProblem(rules(good({ id: '/orbitdb/zdpuAnother' })), 'ERR_MALFORMED', /id/)
  })
})
