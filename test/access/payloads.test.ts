import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { isEntryHash, mailPayloadProblem, parseEnvelopeCid, prunePayloadProblem, signPrune } from '../../src/access/payloads.ts'
import { MAX_ENVELOPE_BYTES, MAX_PRUNE_ENTRIES } from '../../src/constants.ts'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { assertProblem, failingPow, mailPayload, randomEntryHash, randomEnvelopeCid } from '../helpers/inbox.ts'

const INBOX = '/orbitdb/zdpuAxhSowUQaEAyN3FmRF8JuKBNSGNb1x6hVpFUvVMXUNGtV'
const BITS = 10

let owner: Identity, other: Identity
before(async () => { [owner, other] = await Promise.all([createIdentity(), createIdentity()]) })

describe('MAIL payloads', () => {
  test('a payload with a stamp for this inbox and difficulty is accepted', () => {
    assert.equal(mailPayloadProblem(mailPayload(INBOX, BITS), INBOX, BITS), undefined)
  })

  test('the stamp is bound to the inbox, the envelope, the time and the difficulty', () => {
    // 20 bits: a stamp that still held after a change would be a one-in-a-million accident.
    const good = mailPayload(INBOX, 20)
    assert.equal(mailPayloadProblem(good, INBOX, 20), undefined)
    assertProblem(mailPayloadProblem(good, INBOX + 'x', 20), 'ERR_BAD_POW', /proof-of-work/)
    assertProblem(mailPayloadProblem({ ...good, env: randomEnvelopeCid().toString() }, INBOX, 20), 'ERR_BAD_POW', /proof-of-work/)
    assertProblem(mailPayloadProblem({ ...good, ts: good.ts + 1 }, INBOX, 20), 'ERR_BAD_POW', /proof-of-work/)
    const weak = mailPayload(INBOX, 0)
    const tooWeak = { ...weak, pow: failingPow(weak, INBOX, 22) }
    assertProblem(mailPayloadProblem(tooWeak, INBOX, 22), 'ERR_BAD_POW', /does not reach 22 bits/)
  })

  test('every malformed field is refused with a reason, never a throw', () => {
    const good = mailPayload(INBOX, BITS)
    const bad: unknown[] = [
      null, undefined, 42, 'MAIL', [], new Uint8Array(3),
      { ...good, op: 'mail' }, { ...good, v: 2 }, { ...good, extra: 1 },
      { ...good, env: 'not a cid' },
      { ...good, env: randomEntryHash() }, // base58btc: not the canonical (base32) form
      { ...good, size: 0 }, { ...good, size: MAX_ENVELOPE_BYTES + 1 }, { ...good, size: 1.5 }, { ...good, size: '1' },
      { ...good, ts: -1 }, { ...good, ts: 2 ** 60 }, { ...good, pow: new Uint8Array(7) }, { ...good, pow: 'x' },
      Object.assign(Object.create({ inherited: 1 }), good, { pow: undefined })
    ]
    for (const value of bad) {
      const problem = mailPayloadProblem(value, INBOX, BITS)
      assert.equal(problem?.code, 'ERR_MALFORMED', JSON.stringify(value, (_k, v) => v instanceof Uint8Array ? [...v] : v))
      assert.equal(typeof problem.message, 'string')
    }
  })
})

describe('PRUNE payloads', () => {
  test("a PRUNE signed by the owner for this inbox is accepted; anyone else's is not", () => {
    const entries = [randomEntryHash(), randomEntryHash()]
    const pruned = signPrune(INBOX, entries, 1767225600000, owner.seed)
    assert.equal(prunePayloadProblem(pruned, INBOX, owner.publicKey), undefined)
    const forged = signPrune(INBOX, entries, 1767225600000, other.seed)
    assertProblem(prunePayloadProblem(forged, INBOX, owner.publicKey), 'ERR_BAD_SIGNATURE', /owner's signature/)
    assertProblem(prunePayloadProblem(pruned, INBOX + 'x', owner.publicKey), 'ERR_BAD_SIGNATURE', /owner's signature/, 'bound to one inbox')
    assertProblem(prunePayloadProblem({ ...pruned, entries: [entries[0]] }, INBOX, owner.publicKey), 'ERR_BAD_SIGNATURE', /owner's signature/)
  })

  test('malformed PRUNEs are refused with a reason, never a throw', () => {
    const entries = [randomEntryHash()]
    const good = signPrune(INBOX, entries, 1, owner.seed)
    const many = Array.from({ length: MAX_PRUNE_ENTRIES + 1 }, randomEntryHash)
    const bad: unknown[] = [
      { ...good, entries: [] }, signPrune(INBOX, many, 1, owner.seed), { ...good, entries: ['zdpu-not-a-hash'] },
      signPrune(INBOX, [entries[0]!, entries[0]!], 1, owner.seed), { ...good, entries: 'x' }, { ...good, sig: 'x' },
      { ...good, ts: -5 }, { ...good, v: 3 }, { ...good, more: true }, null, 'PRUNE'
    ]
    for (const value of bad) assert.equal(prunePayloadProblem(value, INBOX, owner.publicKey)?.code, 'ERR_MALFORMED')
    assertProblem(prunePayloadProblem({ ...good, sig: new Uint8Array(64) }, INBOX, owner.publicKey), 'ERR_BAD_SIGNATURE', /owner's signature/)
  })
})

test('envelope CIDs and entry hashes are accepted only in their one canonical form', () => {
  const cid = randomEnvelopeCid()
  assert.ok(parseEnvelopeCid(cid.toString())?.equals(cid))
  assert.equal(parseEnvelopeCid('QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'), undefined, 'CIDv0')
  assert.equal(parseEnvelopeCid(cid.toString().toUpperCase()), undefined)
  assert.equal(parseEnvelopeCid(42), undefined)
  const hash = randomEntryHash()
  assert.equal(isEntryHash(hash), true)
  assert.equal(isEntryHash(cid.toString()), false)
  assert.equal(isEntryHash('z' + crypto.randomBytes(10).toString('hex')), false)
})
