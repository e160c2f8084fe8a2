/**
 * sealMail / openMail: the round trip, and every way a reader refuses an envelope, each with its
 * typed error. Hostile envelopes are built with the reference implementation so that they are
 * valid in every respect but the one under test.
 */
import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { ed25519 } from '@noble/curves/ed25519.js'
import { MAX_ATTACHMENTS, MAX_ENVELOPE_BYTES, MAX_MAIL_BYTES, MAX_SUBJECT_BYTES } from '../../src/constants.ts'
import { sealEnvelope } from '../../src/crypto/envelope.ts'
import {
  BadSignatureError, InvalidMailError, InvalidPeerIdError, IpmsError, MalformedError, MisaddressedError,
  NotForRecipientError, TamperedError, TooLargeError, UnsupportedKeyTypeError, UnsupportedVersionError
} from '../../src/errors.ts'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { signMail, type Mail, type UnsignedMail } from '../../src/mail/mail.ts'
import { openMail, sealMail } from '../../src/mail/seal.ts'
import { referencePad, referenceSealPadded, referenceSignMail } from '../helpers/reference.ts'

const INBOX = '/orbitdb/zdpuAxhSowUQaEAyN3FmRF8JuKBNSGNb1x6hVpFUvVMXUNGtV'
const RSA_PEER_ID = 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'
const SECP256K1_PEER_ID = '16Uiu2HAmHGF174Wp3nYLnJ9t2pnZZx9Us5gLwY27kFtydVVeLZPm'

let alice: Identity, bob: Identity, carol: Identity
before(async () => {
  [alice, bob, carol] = await Promise.all([createIdentity(), createIdentity(), createIdentity()])
})

/** A valid unsigned mail from alice to `to`. */
function unsignedMail (to: string, fields: Partial<UnsignedMail> = {}): UnsignedMail {
  return { v: 1, from: alice.peerId, to, date: 1767225600000, id: 'm1', subject: 's', body: 'b', attachments: [], ...fields }
}

/** Seal any CBOR value (or raw bytes) to bob with correct padding and crypto. */
function sealValueToBob (value: unknown): Uint8Array {
  const plaintext = value instanceof Uint8Array ? value : dagCbor.encode(value)
  return sealEnvelope(plaintext, bob.publicKey, INBOX)
}

/** Decode an envelope, change it, encode it again. */
function alterEnvelope (envelope: Uint8Array, change: (fields: Record<string, any>) => void): Uint8Array {
  const fields = dagCbor.decode(envelope) as Record<string, any>
  change(fields)
  return dagCbor.encode(fields)
}

describe('round trip', () => {
  test('bob opens what alice sealed to him; every field survives; the sender is proven', async () => {
    const attachments = [
      { name: 'photo.jpg', type: 'image/jpeg', data: crypto.randomBytes(5000) },
      { name: 'empty.bin', type: 'application/octet-stream', data: new Uint8Array(0) }
    ]
    const sealed = await sealMail({ subject: 'Héllo ✉', body: 'Line 1\r\nLine 2\n\ttabbed', attachments, inReplyTo: 'earlier.id-1' }, { from: alice, to: bob.peerId, inbox: INBOX })
    const mail = openMail(sealed.envelope, { identity: bob, inbox: INBOX })
    assert.equal(mail.from, alice.peerId)
    assert.equal(mail.to, bob.peerId)
    assert.equal(mail.subject, 'Héllo ✉')
    assert.equal(mail.body, 'Line 1\r\nLine 2\n\ttabbed')
    assert.equal(mail.inReplyTo, 'earlier.id-1')
    assert.equal(mail.attachments.length, 2)
    assert.deepEqual(mail.attachments[0]!.data, new Uint8Array(attachments[0]!.data))
    assert.deepEqual(mail.attachments[1]!.data, new Uint8Array(0))
    assert.equal(mail.id, sealed.mail.id)
    assert.ok(Math.abs(mail.date - Date.now()) < 60_000)
  })

  test('defaults: empty subject and body, a fresh random id per mail', async () => {
    const one = await sealMail({}, { from: alice, to: bob.peerId, inbox: INBOX })
    const two = await sealMail({}, { from: alice, to: bob.peerId, inbox: INBOX })
    assert.notEqual(one.mail.id, two.mail.id)
    assert.match(one.mail.id, /^[0-9a-f]{32}$/)
    assert.equal(openMail(one.envelope, { identity: bob, inbox: INBOX }).body, '')
  })

  test('the recipient may be given in the CIDv1 form; the mail says the canonical peer-id', async () => {
    const { peerIdFromString } = await import('@libp2p/peer-id')
    const cidForm = peerIdFromString(bob.peerId).toCID().toString()
    const sealed = await sealMail({ body: 'x' }, { from: alice, to: ` ${cidForm} `, inbox: INBOX })
    assert.equal(sealed.mail.to, bob.peerId)
    assert.equal(openMail(sealed.envelope, { identity: bob, inbox: INBOX }).body, 'x')
  })

  test('two mails to the same recipient share no bytes an observer could link (fresh epk and nonce)', async () => {
    const a = dagCbor.decode((await sealMail({ body: 'same' }, { from: alice, to: bob.peerId, inbox: INBOX })).envelope) as Record<string, Uint8Array>
    const b = dagCbor.decode((await sealMail({ body: 'same' }, { from: alice, to: bob.peerId, inbox: INBOX })).envelope) as Record<string, Uint8Array>
    assert.notDeepEqual(a.epk, b.epk)
    assert.notDeepEqual(a.nonce, b.nonce)
  })

  test('envelope sizes reveal only the bucket: a 1-byte and a 600-byte body look alike', async () => {
    const small = await sealMail({ body: 'x' }, { from: alice, to: bob.peerId, inbox: INBOX })
    const larger = await sealMail({ body: 'x'.repeat(600) }, { from: alice, to: bob.peerId, inbox: INBOX })
    assert.equal(small.envelope.byteLength, larger.envelope.byteLength)
  })

  test('a mail just under the size limit seals and opens; the envelope stays under its limit', async () => {
    const data = crypto.randomBytes(MAX_MAIL_BYTES - 1000)
    const sealed = await sealMail({ attachments: [{ name: 'big.bin', type: 'application/octet-stream', data }] }, { from: alice, to: bob.peerId, inbox: INBOX })
    assert.ok(sealed.envelope.byteLength <= MAX_ENVELOPE_BYTES)
    const mail = openMail(sealed.envelope, { identity: bob, inbox: INBOX })
    assert.equal(Buffer.compare(mail.attachments[0]!.data, data), 0)
  })
})

describe('sealMail refuses bad input before anything leaves', () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['a subject with a newline (header injection)', { subject: 'hi\r\nBcc: everyone' }],
    ['a subject over the limit', { subject: 'é'.repeat(MAX_SUBJECT_BYTES) }],
    ['too many attachments', { attachments: Array.from({ length: MAX_ATTACHMENTS + 1 }, (_, i) => ({ name: `f${i}`, type: 'text/plain', data: new Uint8Array(1) })) }],
    ['an attachment name with a path', { attachments: [{ name: '../../.bashrc', type: 'text/plain', data: new Uint8Array(1) }] }],
    ['an attachment name that is ..', { attachments: [{ name: '..', type: 'text/plain', data: new Uint8Array(1) }] }],
    ['an attachment name with a NUL', { attachments: [{ name: 'a\u0000b', type: 'text/plain', data: new Uint8Array(1) }] }],
    ['an attachment with a bad media type', { attachments: [{ name: 'a', type: 'not a type', data: new Uint8Array(1) }] }],
    ['attachment data that is not bytes', { attachments: [{ name: 'a', type: 'text/plain', data: 'text' }] }],
    ['an id with spaces', { id: 'not valid' }],
    ['an inReplyTo with angle brackets', { inReplyTo: '<x@y>' }],
    ['a negative date', { date: -1 }],
    ['a fractional date', { date: 1.5 }],
    ['a body that is not text', { body: new Uint8Array(3) }]
  ]
  for (const [name, draft] of cases) {
    test(`${name} → InvalidMailError`, async () => {
      await assert.rejects(sealMail(draft as never, { from: alice, to: bob.peerId, inbox: INBOX }), (err: unknown) => {
        assert.ok(err instanceof InvalidMailError, String(err))
        assert.equal(err.code, 'ERR_INVALID_MAIL')
        return true
      })
    })
  }

  test('a mail over the size limit → TooLargeError', async () => {
    const data = new Uint8Array(MAX_MAIL_BYTES)
    await assert.rejects(sealMail({ attachments: [{ name: 'huge', type: 'application/octet-stream', data }] }, { from: alice, to: bob.peerId, inbox: INBOX }), TooLargeError)
  })

  test('recipients that are not Ed25519 peer-ids → InvalidPeerIdError or UnsupportedKeyTypeError', async () => {
    for (const to of ['', 'bob', '12D3KooW', 'not a peer id at all']) {
      await assert.rejects(sealMail({}, { from: alice, to, inbox: INBOX }), InvalidPeerIdError, to)
    }
    await assert.rejects(sealMail({}, { from: alice, to: RSA_PEER_ID, inbox: INBOX }), UnsupportedKeyTypeError)
    await assert.rejects(sealMail({}, { from: alice, to: SECP256K1_PEER_ID, inbox: INBOX }), UnsupportedKeyTypeError)
  })
})

describe('openMail refuses, with a typed error', () => {
  test('an envelope sealed to someone else → NotForRecipientError', async () => {
    const sealed = await sealMail({ body: 'for carol' }, { from: alice, to: carol.peerId, inbox: INBOX })
    assert.throws(() => openMail(sealed.envelope, { identity: bob, inbox: INBOX }), NotForRecipientError)
  })

  test('an altered ciphertext → TamperedError, at every byte of the body and tag', async () => {
    const sealed = await sealMail({ body: 'hello' }, { from: alice, to: bob.peerId, inbox: INBOX })
    const { ct } = dagCbor.decode(sealed.envelope) as { ct: Uint8Array }
    for (let i = 4; i < ct.byteLength; i += 97) {
      const altered = alterEnvelope(sealed.envelope, (f) => { f.ct = ct.slice(); f.ct[i] ^= 0x80 })
      assert.throws(() => openMail(altered, { identity: bob, inbox: INBOX }), TamperedError, `byte ${i}`)
    }
    const truncated = alterEnvelope(sealed.envelope, (f) => { f.ct = ct.subarray(0, ct.byteLength - 1) })
    assert.throws(() => openMail(truncated, { identity: bob, inbox: INBOX }), IpmsError)
  })

  test('an envelope moved to another inbox (AAD) → TamperedError', async () => {
    const sealed = await sealMail({ body: 'hello' }, { from: alice, to: bob.peerId, inbox: INBOX })
    assert.throws(() => openMail(sealed.envelope, { identity: bob, inbox: INBOX + 'x' }), TamperedError)
  })

  test('a changed ephemeral key or nonce → NotForRecipientError (the key no longer matches)', async () => {
    const sealed = await sealMail({ body: 'hello' }, { from: alice, to: bob.peerId, inbox: INBOX })
    const otherEpk = alterEnvelope(sealed.envelope, (f) => { f.epk = crypto.randomBytes(32) })
    assert.throws(() => openMail(otherEpk, { identity: bob, inbox: INBOX }), NotForRecipientError)
    const otherNonce = alterEnvelope(sealed.envelope, (f) => { f.nonce = crypto.randomBytes(24) })
    assert.throws(() => openMail(otherNonce, { identity: bob, inbox: INBOX }), NotForRecipientError)
    const zeroEpk = alterEnvelope(sealed.envelope, (f) => { f.epk = new Uint8Array(32) }) // small order: all-zero secret
    assert.throws(() => openMail(zeroEpk, { identity: bob, inbox: INBOX }), NotForRecipientError)
  })

  test('a signature that does not verify → BadSignatureError', async () => {
    const mail = signMail(unsignedMail(bob.peerId), alice.seed)
    const forged = { ...mail, body: 'changed after signing' }
    assert.throws(() => openMail(sealValueToBob(forged), { identity: bob, inbox: INBOX }), BadSignatureError)
    const signedByCarol = signMail(unsignedMail(bob.peerId), carol.seed) // claims to be from alice
    assert.throws(() => openMail(sealValueToBob(signedByCarol), { identity: bob, inbox: INBOX }), BadSignatureError)
  })

  test('a mail signed for carol, re-sealed to bob → MisaddressedError (surreptitious forwarding)', () => {
    const mail = signMail(unsignedMail(carol.peerId), alice.seed)
    assert.throws(() => openMail(sealValueToBob(mail), { identity: bob, inbox: INBOX }), MisaddressedError)
  })

  test('an envelope of an unknown version → UnsupportedVersionError', async () => {
    const sealed = await sealMail({}, { from: alice, to: bob.peerId, inbox: INBOX })
    const v2 = alterEnvelope(sealed.envelope, (f) => { f.v = 2 })
    assert.throws(() => openMail(v2, { identity: bob, inbox: INBOX }), UnsupportedVersionError)
    const v2WithOtherFields = dagCbor.encode({ v: 2, recipients: [], payload: new Uint8Array(10) })
    assert.throws(() => openMail(v2WithOtherFields, { identity: bob, inbox: INBOX }), UnsupportedVersionError)
  })

  test('a mail of an unknown version inside a good envelope → UnsupportedVersionError', () => {
    const unsigned = { ...unsignedMail(bob.peerId), v: 2 }
    const mail = referenceSignMail(unsigned, alice.seed)
    assert.throws(() => openMail(sealValueToBob(mail), { identity: bob, inbox: INBOX }), UnsupportedVersionError)
  })

  test('bytes that are not CBOR, or CBOR of the wrong shape → MalformedError', async () => {
    const sealed = await sealMail({}, { from: alice, to: bob.peerId, inbox: INBOX })
    const badEnvelopes: Uint8Array[] = [
      new Uint8Array(0),
      crypto.randomBytes(200),
      new Uint8Array([0xa1, 0x61]), // truncated map
      dagCbor.encode([1, 2, 3]),
      dagCbor.encode('envelope'),
      dagCbor.encode({ v: 1, epk: new Uint8Array(31), nonce: new Uint8Array(24), ct: new Uint8Array(40) }),
      dagCbor.encode({ v: 1, epk: new Uint8Array(32), nonce: new Uint8Array(12), ct: new Uint8Array(40) }),
      dagCbor.encode({ v: 1, epk: new Uint8Array(32), nonce: new Uint8Array(24), ct: new Uint8Array(3) }),
      dagCbor.encode({ v: 1, epk: new Uint8Array(32), nonce: new Uint8Array(24), ct: 'text' }),
      alterEnvelope(sealed.envelope, (f) => { f.extra = 1 }),
      alterEnvelope(sealed.envelope, (f) => { delete f.nonce })
    ]
    for (const bytes of badEnvelopes) {
      assert.throws(() => openMail(bytes, { identity: bob, inbox: INBOX }), MalformedError, Buffer.from(bytes.subarray(0, 16)).toString('hex'))
    }
  })

  test('a good envelope whose plaintext is not a mail → MalformedError', () => {
    const signed = signMail(unsignedMail(bob.peerId), alice.seed)
    const plaintexts: unknown[] = [
      crypto.randomBytes(50), // not CBOR
      'just a string',
      { ...signed, extra: 'field' },
      { ...signed, sig: new Uint8Array(10) },
      { ...signed, from: 'not-a-peer-id' },
      { ...signed, from: RSA_PEER_ID },
      { ...signed, subject: 'two\nlines' },
      { ...signed, attachments: [{ name: '/etc/passwd', type: 'text/plain', data: new Uint8Array(1) }] },
      { ...signed, date: 'yesterday' }
    ]
    for (const value of plaintexts) {
      assert.throws(() => openMail(sealValueToBob(value), { identity: bob, inbox: INBOX }), MalformedError)
    }
  })

  test('a plaintext with non-zero padding → MalformedError', () => {
    const mail = dagCbor.encode(signMail(unsignedMail(bob.peerId), alice.seed))
    const padded = referencePad(mail)
    padded[padded.byteLength - 1] = 0xff
    const envelope = referenceSealPadded(padded, bob.publicKey, INBOX, crypto.randomBytes(32), crypto.randomBytes(24))
    assert.throws(() => openMail(envelope, { identity: bob, inbox: INBOX }), MalformedError)
  })

  test('an oversize envelope is refused unread → TooLargeError', () => {
    const huge = new Uint8Array(MAX_ENVELOPE_BYTES + 1)
    assert.throws(() => openMail(huge, { identity: bob, inbox: INBOX }), TooLargeError)
  })

  test('a decrypted mail over the mail size limit → TooLargeError', () => {
    const data = new Uint8Array(MAX_MAIL_BYTES + 10)
    const mail = referenceSignMail({ ...unsignedMail(bob.peerId), attachments: [{ name: 'a', type: 'text/plain', data }] }, alice.seed)
    const envelope = sealEnvelope(dagCbor.encode(mail), bob.publicKey, INBOX)
    assert.throws(() => openMail(envelope, { identity: bob, inbox: INBOX }), TooLargeError)
  })

  test('fuzz: 2,000 random mutations of a good envelope only ever give IpmsErrors, never a mail', async () => {
    const sealed = await sealMail({ subject: 'fuzz', body: 'x'.repeat(100) }, { from: alice, to: bob.peerId, inbox: INBOX })
    const codes = new Set<string>()
    for (let i = 0; i < 2000; i++) {
      const bytes = sealed.envelope.slice()
      // 1 to 4 flips at distinct bytes: two flips of one bit would cancel out.
      const positions = new Set<number>()
      while (positions.size < 1 + (i % 4)) positions.add(crypto.randomInt(bytes.byteLength))
      for (const at of positions) bytes[at] = bytes[at]! ^ (1 << crypto.randomInt(8))
      let mail: Mail | undefined
      try {
        mail = openMail(bytes, { identity: bob, inbox: INBOX })
      } catch (err) {
        assert.ok(err instanceof IpmsError, `not an IpmsError: ${String(err)}`)
        codes.add(err.code)
        continue
      }
      // dag-cbor decoding is strict (one encoding per value), so every change must be refused.
      assert.fail(`mutation ${i} produced a mail: ${mail?.id}`)
    }
    assert.ok(codes.has('ERR_TAMPERED') || codes.has('ERR_NOT_FOR_RECIPIENT'), [...codes].join())
  })
})

test('sealing to a public key that is not a curve point → InvalidArgumentError, not a crash', () => {
  let bad = new Uint8Array(32).fill(0xff)
  // Find 32 bytes that are not a valid Ed25519 point encoding.
  for (let i = 0; i < 256; i++) {
    bad = crypto.randomBytes(32)
    try { ed25519.Point.fromBytes(bad) } catch { break }
  }
  assert.throws(() => sealEnvelope(new Uint8Array(1), bad, INBOX), (err: unknown) => err instanceof IpmsError && err.code === 'ERR_INVALID_ARGUMENT')
})
