import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pad, paddedSize, plausiblePrefix, unpad } from '../../src/crypto/padding.ts'
import { MalformedError } from '../../src/errors.ts'
import { referencePaddedSize } from '../helpers/reference.ts'

test('bucket sizes: 1 KiB minimum, powers of two to 64 KiB, Padmé above (≤ 12 % overhead)', () => {
  assert.equal(paddedSize(1), 1024)
  assert.equal(paddedSize(1024), 1024)
  assert.equal(paddedSize(1025), 2048)
  assert.equal(paddedSize(65536), 65536)
  assert.equal(paddedSize(65537), 67584) // E = 16, S = 5: steps of 2 KiB
  for (let n = 1; n < 4 * 1024 * 1024; n = Math.ceil(n * 1.37) + 1) {
    const size = paddedSize(n)
    assert.ok(size >= n, `${n} fits`)
    assert.equal(size, referencePaddedSize(n), `same bucket as the reference for ${n}`)
    if (n > 65536) assert.ok(size <= n * 1.12, `Padmé overhead for ${n}`)
    assert.equal(paddedSize(size), size, 'a bucket size is its own bucket')
  }
})

test('pad then unpad gives back the plaintext; many lengths share one bucket', () => {
  for (const length of [0, 1, 100, 1020, 1021, 5000, 70000]) {
    const plaintext = Uint8Array.from({ length }, (_, i) => i & 0xff)
    const padded = pad(plaintext)
    assert.equal(padded.byteLength, paddedSize(4 + length))
    assert.deepEqual(unpad(padded), plaintext)
  }
  assert.equal(pad(new Uint8Array(0)).byteLength, pad(new Uint8Array(1000)).byteLength)
})

test('unpad refuses non-zero padding, a length past the end, and a length from another bucket', () => {
  const padded = pad(new Uint8Array(10))
  const dirty = padded.slice()
  dirty[dirty.byteLength - 1] = 1
  assert.throws(() => unpad(dirty), MalformedError)
  const tooLong = padded.slice()
  new DataView(tooLong.buffer).setUint32(0, 5000)
  assert.throws(() => unpad(tooLong), MalformedError)
  const bigBucket = pad(new Uint8Array(3000)) // 4 KiB bucket
  new DataView(bigBucket.buffer).setUint32(0, 10) // 10 bytes belong in the 1 KiB bucket
  assert.throws(() => unpad(bigBucket), MalformedError)
  assert.equal(plausiblePrefix(new Uint8Array(2), 1024), false)
})
