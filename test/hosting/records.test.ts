/** Host grants, address cards and contacts' passes: round trips, and every way a record is refused, with its type. */
import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { base58btc } from 'multiformats/bases/base58'
import * as dagCbor from '@ipld/dag-cbor'
import { MAX_CARD_HOSTS } from '../../src/constants.ts'
import { GrantExpiredError, InvalidRecordError, PassExpiredError, UnsupportedVersionError } from '../../src/errors.ts'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { createCard, encodeCard, verifyCard } from '../../src/hosting/card.ts'
import { createGrant, encodeGrant, verifyGrant } from '../../src/hosting/grant.ts'
import { createPass, encodePass, passBytes, passIdText, verifyPass } from '../../src/hosting/pass.ts'
import { encodeRecord, signRecord } from '../../src/hosting/signed-record.ts'

let owner: Identity, host: Identity, mallory: Identity
before(async () => { [owner, host, mallory] = await Promise.all([createIdentity(), createIdentity(), createIdentity()]) })

/** Re-encode a record's text after changing its fields (the signature is left as it was). */
function tamper (text: string, prefix: string, change: (fields: Record<string, unknown>) => void): string {
  const fields = dagCbor.decode(base58btc.decode(text.slice(prefix.length))) as Record<string, unknown>
  change(fields)
  return encodeRecord(prefix, fields)
}

describe('grants', () => {
  test('a grant survives its text form and names owner, host and expiry', () => {
    const grant = createGrant(owner, host.peerId, { ttlMs: 60_000, now: 1_000 })
    const text = encodeGrant(grant)
    assert.match(text, /^ipmsgrantz[1-9A-HJ-NP-Za-km-z]+$/)
    const read = verifyGrant(` ${text}\n`, { host: host.peerId, now: 2_000 })
    assert.equal(read.owner, owner.peerId)
    assert.equal(read.host, host.peerId)
    assert.equal(read.expires, 61_000)
    assert.equal(verifyGrant(grant, { now: 2_000 }).host, host.peerId, 'an object is checked the same way')
    assert.equal(verifyGrant(encodeGrant(createGrant(owner, host.peerId))).expires, undefined, 'no expiry by default')
  })

  test('expired → GrantExpiredError; for another host, forged or altered → InvalidRecordError', () => {
    const text = encodeGrant(createGrant(owner, host.peerId, { ttlMs: 1_000, now: 1_000 }))
    assert.throws(() => verifyGrant(text, { now: 2_000 }), GrantExpiredError)
    assert.throws(() => verifyGrant(text, { host: mallory.peerId, now: 1_500 }), InvalidRecordError)
    // Mallory signs a grant that claims to be the owner's.
    const forged = encodeRecord('ipmsgrant', { ...createGrant(mallory, mallory.peerId, { now: 1_000 }), owner: owner.peerId })
    assert.throws(() => verifyGrant(forged), (err: unknown) => err instanceof InvalidRecordError && /not signed by its owner/.test(err.message))
    const retargeted = tamper(text, 'ipmsgrant', f => { f.host = mallory.peerId })
    assert.throws(() => verifyGrant(retargeted, { now: 1_500 }), InvalidRecordError)
    const extended = tamper(text, 'ipmsgrant', f => { f.expires = 10 ** 13 })
    assert.throws(() => verifyGrant(extended, { now: 1_500 }), InvalidRecordError)
  })

  test('garbage, other records, other versions and extra fields are refused with a typed error', () => {
    const text = encodeGrant(createGrant(owner, host.peerId))
    for (const bad of ['', 'ipmsgrant', 'ipmsgrantz', 'ipmsgrantz0OIl', 'hello', text.slice(0, -5), encodeCard(createCard(owner, [], 24)), 'ipmsgrant' + 'z'.repeat(20_000)]) {
      assert.throws(() => verifyGrant(bad), InvalidRecordError, JSON.stringify(bad.slice(0, 30)))
    }
    assert.throws(() => verifyGrant(tamper(text, 'ipmsgrant', f => { f.v = 2 })), UnsupportedVersionError)
    const extra = encodeRecord('ipmsgrant', signRecord('ipms/grant/v1', owner, { host: host.peerId, issued: 1, note: 'x' }))
    assert.throws(() => verifyGrant(extra), InvalidRecordError)
    assert.throws(() => verifyGrant(encodeRecord('ipmsgrant', [1, 2])), InvalidRecordError)
  })
})

describe('address cards', () => {
  test('a card lists the hosts with their addresses and the difficulty, signed by the owner', () => {
    const card = createCard(owner, [{ peer: host.peerId, addrs: ['/ip4/127.0.0.1/tcp/4001', '/dns4/host.example/tcp/4001'] }], 24, 5_000)
    const text = encodeCard(card)
    assert.match(text, /^ipmscardz/)
    const read = verifyCard(text, { owner: owner.peerId })
    assert.equal(read.bits, 24)
    assert.equal(read.ts, 5_000)
    assert.deepEqual(read.hosts, [{ peer: host.peerId, addrs: ['/ip4/127.0.0.1/tcp/4001', '/dns4/host.example/tcp/4001'] }])
  })

  test('a card of another owner, a forged or altered card, or a malformed one is refused', () => {
    const text = encodeCard(createCard(owner, [{ peer: host.peerId, addrs: ['/ip4/127.0.0.1/tcp/4001'] }], 24))
    assert.throws(() => verifyCard(text, { owner: mallory.peerId }), InvalidRecordError)
    assert.throws(() => verifyCard(tamper(text, 'ipmscard', f => { f.hosts = [{ peer: mallory.peerId, addrs: [] }] })), InvalidRecordError, 'a host slipped in')
    assert.throws(() => verifyCard(tamper(text, 'ipmscard', f => { f.bits = 0 })), InvalidRecordError, 'difficulty lowered')
    const badAddr = encodeRecord('ipmscard', signRecord('ipms/card/v1', owner, { bits: 24, hosts: [{ peer: host.peerId, addrs: ['not a multiaddr'] }], ts: 1 }))
    assert.throws(() => verifyCard(badAddr), InvalidRecordError)
    const many = Array.from({ length: MAX_CARD_HOSTS + 1 }, () => ({ peer: host.peerId, addrs: [] }))
    assert.throws(() => createCard(owner, many, 24), InvalidRecordError)
    assert.throws(() => verifyCard('ipmscard-nope'), InvalidRecordError)
    assert.throws(() => verifyCard(encodeGrant(createGrant(owner, host.peerId))), InvalidRecordError, 'a grant is not a card')
  })
})

describe('passes', () => {
  test('a pass survives its text and byte forms: owner, a random 16-byte id, issued and expiry', () => {
    const pass = createPass(owner, { ttlMs: 60_000, now: 1_000 })
    const text = encodePass(pass)
    assert.match(text, /^ipmspassz[1-9A-HJ-NP-Za-km-z]+$/)
    const read = verifyPass(` ${text}\n`, { owner: owner.peerId, now: 2_000 })
    assert.equal(read.owner, owner.peerId)
    assert.equal(read.id.byteLength, 16)
    assert.equal(read.issued, 1_000)
    assert.equal(read.expires, 61_000)
    assert.equal(passIdText(verifyPass(passBytes(pass), { now: 2_000 })), passIdText(pass), 'the bytes a deliver request carries read the same')
    assert.notEqual(passIdText(createPass(owner)), passIdText(createPass(owner)), 'each pass has its own id')
  })

  test('expired → PassExpiredError; another owner\'s, forged, altered or malformed → InvalidRecordError', () => {
    const text = encodePass(createPass(owner, { ttlMs: 1_000, now: 1_000 }))
    assert.throws(() => verifyPass(text, { now: 2_000 }), PassExpiredError)
    assert.throws(() => verifyPass(text, { owner: mallory.peerId, now: 1_500 }), InvalidRecordError)
    // Mallory signs a pass that claims to be the owner's.
    const forged = encodeRecord('ipmspass', { ...signRecord('ipms/pass/v1', mallory, { id: new Uint8Array(16), issued: 1_000 }), owner: owner.peerId })
    assert.throws(() => verifyPass(forged, { now: 1_500 }), InvalidRecordError)
    assert.throws(() => verifyPass(tamper(text, 'ipmspass', f => { f.expires = 9_000_000 }), { now: 1_500 }), InvalidRecordError)
    const shortId = encodeRecord('ipmspass', signRecord('ipms/pass/v1', owner, { id: new Uint8Array(15), issued: 1_000 }))
    assert.throws(() => verifyPass(shortId, { now: 1_500 }), /id must be 16 bytes/)
    const extra = encodeRecord('ipmspass', signRecord('ipms/pass/v1', owner, { id: new Uint8Array(16), issued: 1_000, to: 'alice' }))
    assert.throws(() => verifyPass(extra, { now: 1_500 }), /unknown field "to"/)
    // A grant's signature is not a pass's: the tags differ.
    const grantAsPass = encodeRecord('ipmspass', { ...signRecord('ipms/grant/v1', owner, { id: new Uint8Array(16), issued: 1_000 }) })
    assert.throws(() => verifyPass(grantAsPass, { now: 1_500 }), /not signed by its owner/)
    assert.throws(() => verifyPass(encodeGrant(createGrant(owner, host.peerId))), InvalidRecordError)
    assert.throws(() => verifyPass(tamper(text, 'ipmspass', f => { f.v = 2 }), { now: 1_500 }), UnsupportedVersionError)
  })
})
