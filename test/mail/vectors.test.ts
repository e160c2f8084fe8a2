/**
 * The committed envelope vectors (test/vectors/envelope-v1.json, made by the pure-JS reference in
 * test/helpers/reference.ts) against the optimised implementation in src/: byte for byte.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import * as dagCbor from '@ipld/dag-cbor'
import { identityFromSeed } from '../../src/identity/identity.ts'
import { openMail, sealMail, type Draft } from '../../src/mail/seal.ts'
import { referenceOpen, referenceSeal, referenceSignMail } from '../helpers/reference.ts'
import { ed25519 } from '@noble/curves/ed25519.js'

interface Vector {
  name: string
  senderSeed: string
  recipientSeed: string
  ephemeralSecret: string
  nonce: string
  inbox: string
  mail: Record<string, any>
  expected: { from: string, to: string, sig: string, plaintext: string, envelope: string, cid: string }
}
const { vectors } = JSON.parse(readFileSync(new URL('../vectors/envelope-v1.json', import.meta.url), 'utf8')) as { vectors: Vector[] }
const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'))
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const revive = (mail: Record<string, any>): Record<string, any> =>
  JSON.parse(JSON.stringify(mail), (_k, v) => v !== null && typeof v === 'object' && typeof v.hex === 'string' ? bytes(v.hex) : v)

test('there are vectors to check', () => assert.ok(vectors.length >= 3))

for (const vector of vectors) {
  test(`vector "${vector.name}": src/ seals the expected envelope byte for byte`, async () => {
    const sender = await identityFromSeed(bytes(vector.senderSeed))
    const recipient = await identityFromSeed(bytes(vector.recipientSeed))
    assert.equal(sender.peerId, vector.expected.from)
    assert.equal(recipient.peerId, vector.expected.to)
    const mail = revive(vector.mail)
    const draft: Draft = { date: mail.date, id: mail.id, subject: mail.subject, body: mail.body, attachments: mail.attachments }
    if (mail.inReplyTo !== undefined) draft.inReplyTo = mail.inReplyTo
    const sealed = await sealMail(draft, {
      from: sender,
      to: recipient.peerId,
      inbox: vector.inbox,
      randomness: { ephemeralSecret: bytes(vector.ephemeralSecret), nonce: bytes(vector.nonce) }
    })
    assert.equal(hex(sealed.mail.sig), vector.expected.sig)
    assert.equal(hex(dagCbor.encode(sealed.mail)), vector.expected.plaintext)
    assert.equal(hex(sealed.envelope), vector.expected.envelope)
    assert.equal(sealed.cid.toString(), vector.expected.cid)
  })

  test(`vector "${vector.name}": src/ opens it and proves the sender; the reference agrees`, async () => {
    const recipient = await identityFromSeed(bytes(vector.recipientSeed))
    const opened = openMail(bytes(vector.expected.envelope), { identity: recipient, inbox: vector.inbox })
    const mail = revive(vector.mail)
    assert.equal(opened.from, vector.expected.from)
    assert.equal(opened.to, vector.expected.to)
    assert.equal(opened.subject, mail.subject)
    assert.equal(opened.body, mail.body)
    assert.deepEqual(opened.attachments.map(a => ({ ...a, data: hex(a.data) })), mail.attachments.map((a: any) => ({ ...a, data: hex(a.data) })))
    assert.equal(opened.inReplyTo, mail.inReplyTo)
    // The reference, recomputed now, still gives the committed bytes (nobody edited one side only).
    const signed = referenceSignMail(mail, bytes(vector.senderSeed))
    const envelope = referenceSeal(dagCbor.encode(signed), ed25519.getPublicKey(bytes(vector.recipientSeed)), vector.inbox, bytes(vector.ephemeralSecret), bytes(vector.nonce))
    assert.equal(hex(envelope), vector.expected.envelope)
    assert.equal(hex(referenceOpen(envelope, bytes(vector.recipientSeed), vector.inbox)), vector.expected.plaintext)
  })
}
