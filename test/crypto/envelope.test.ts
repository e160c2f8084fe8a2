import { test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { decodeEnvelope, openEnvelope, sealEnvelope } from '../../src/crypto/envelope.ts'
import { InvalidArgumentError } from '../../src/errors.ts'
import { createIdentity } from '../../src/identity/identity.ts'
import { referenceOpen } from '../helpers/reference.ts'

const INBOX = '/orbitdb/zdpuAxhSowUQaEAyN3FmRF8JuKBNSGNb1x6hVpFUvVMXUNGtV'

test('the hand-written envelope block is exactly what @ipld/dag-cbor encodes, at every head size', async () => {
  const owner = await createIdentity()
  for (const size of [0, 1, 1019, 1020, 5000, 65531, 65532, 70000, 3 * 1024 * 1024]) {
    const plaintext = crypto.randomBytes(size)
    const block = sealEnvelope(plaintext, owner.publicKey, INBOX)
    assert.deepEqual(block, dagCbor.encode(dagCbor.decode(block)), `size ${size}`)
    assert.deepEqual(openEnvelope(decodeEnvelope(block), owner.seed, owner.publicKey, INBOX), new Uint8Array(plaintext))
    assert.deepEqual(referenceOpen(block, owner.seed, INBOX), new Uint8Array(plaintext), `the reference opens size ${size}`)
  }
})

test('sealEnvelope refuses a recipient key of the wrong length or type', () => {
  assert.throws(() => sealEnvelope(new Uint8Array(1), new Uint8Array(31), INBOX), InvalidArgumentError)
  assert.throws(() => sealEnvelope(new Uint8Array(1), 'key' as never, INBOX), InvalidArgumentError)
  // The identity point (0x01 ‖ 0…) has small order: X25519 against it is all zero.
  const identityPoint = new Uint8Array(32)
  identityPoint[0] = 1
  assert.throws(() => sealEnvelope(new Uint8Array(1), identityPoint, INBOX), InvalidArgumentError)
})

test('decodeEnvelope reads a canonical block in place, and agrees with the generic dag-cbor decoder', async () => {
  const owner = await createIdentity()
  for (const size of [0, 1000, 70000, 1024 * 1024]) {
    const block = sealEnvelope(crypto.randomBytes(size), owner.publicKey, INBOX)
    const fast = decodeEnvelope(block)
    assert.equal(fast.ct.buffer, block.buffer, 'no copy of the ciphertext')
    const generic = dagCbor.decode(block) as Record<string, Uint8Array>
    assert.deepEqual([fast.v, fast.epk, fast.nonce, fast.ct], [1, generic.epk, generic.nonce, generic.ct])
  }
})

test('a block that is valid dag-cbor but not shaped like a sealed envelope still decodes by the generic path', () => {
  // A ciphertext shorter than 24 bytes has a 1-byte CBOR head: not a layout IPMS writes, still v1-shaped.
  const small = dagCbor.encode({ v: 1, epk: new Uint8Array(32).fill(9), nonce: new Uint8Array(24), ct: new Uint8Array(20) })
  const decoded = decodeEnvelope(small)
  assert.equal(decoded.ct.byteLength, 20)
})
