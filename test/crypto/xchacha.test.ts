import { test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { xchachaOpen, xchachaPeek, xchachaSeal } from '../../src/crypto/xchacha.ts'

// draft-irtf-cfrg-xchacha-03, appendix A.3.1 (AEAD_XChaCha20_Poly1305 test vector).
const DRAFT = {
  key: '808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f',
  nonce: '404142434445464748494a4b4c4d4e4f5051525354555657',
  aad: '50515253c0c1c2c3c4c5c6c7',
  plaintext: Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.").toString('hex'),
  ciphertext: 'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e',
  tag: 'c0875924c1c7987947deafd8780acf49'
}
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))

test('xchachaSeal matches the draft-irtf-cfrg-xchacha-03 vector byte for byte', () => {
  const sealed = xchachaSeal(hex(DRAFT.key), hex(DRAFT.nonce), hex(DRAFT.plaintext), hex(DRAFT.aad))
  assert.equal(Buffer.from(sealed).toString('hex'), DRAFT.ciphertext + DRAFT.tag)
  const opened = xchachaOpen(hex(DRAFT.key), hex(DRAFT.nonce), sealed, hex(DRAFT.aad))
  assert.ok(opened)
  assert.equal(Buffer.from(opened).toString('hex'), DRAFT.plaintext)
})

test('the native path and @noble/ciphers (the reference) agree on random inputs of many sizes', () => {
  for (const size of [0, 1, 15, 16, 63, 64, 65, 1000, 4096, 70000]) {
    const key = crypto.randomBytes(32)
    const nonce = crypto.randomBytes(24)
    const aad = crypto.randomBytes(size % 50)
    const plaintext = crypto.randomBytes(size)
    const fast = xchachaSeal(key, nonce, plaintext, aad)
    const reference = xchacha20poly1305(key, nonce, aad).encrypt(plaintext)
    assert.deepEqual(fast, reference, `size ${size}`)
    assert.deepEqual(xchachaOpen(key, nonce, reference, aad), new Uint8Array(plaintext))
  }
})

test('xchachaOpen returns undefined for a wrong key, nonce, aad, flipped bit or short input', () => {
  const key = crypto.randomBytes(32)
  const nonce = crypto.randomBytes(24)
  const aad = Buffer.from('inbox')
  const sealed = xchachaSeal(key, nonce, Buffer.from('secret text'), aad)
  assert.equal(xchachaOpen(crypto.randomBytes(32), nonce, sealed, aad), undefined)
  assert.equal(xchachaOpen(key, crypto.randomBytes(24), sealed, aad), undefined)
  assert.equal(xchachaOpen(key, nonce, sealed, Buffer.from('other')), undefined)
  for (let i = 0; i < sealed.byteLength; i++) {
    const bad = sealed.slice()
    bad[i]! ^= 0x01
    assert.equal(xchachaOpen(key, nonce, bad, aad), undefined, `bit flipped at ${i}`)
  }
  assert.equal(xchachaOpen(key, nonce, sealed.subarray(0, 15), aad), undefined)
})

test('xchachaPeek decrypts the first bytes without the tag, as the raw XChaCha20 stream at counter 1', () => {
  const key = crypto.randomBytes(32)
  const nonce = crypto.randomBytes(24)
  const plaintext = crypto.randomBytes(100)
  const sealed = xchachaSeal(key, nonce, plaintext, new Uint8Array())
  assert.deepEqual(xchachaPeek(key, nonce, sealed, 4), new Uint8Array(plaintext.subarray(0, 4)))
  assert.deepEqual(xchachaPeek(key, nonce, sealed, 200), new Uint8Array(plaintext), 'never reads into the tag')
})
