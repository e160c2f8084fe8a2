/**
 * Strict dag-cbor decoding (PROTOCOL §1): item and depth bounds checked on the headers before any
 * value is built, and one encoding per value (what does not re-encode to itself is refused).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import { decodeCbor, encodeCbor, structureProblem } from '../../src/crypto/codec.ts'
import { MalformedError, TooLargeError } from '../../src/errors.ts'
import { isBytes } from '../../src/util/fields.ts'

const MiB = 1024 * 1024
const malformed = (err: unknown): boolean => err instanceof MalformedError

test('a 4 MiB array of ~4 M empty maps is refused from its headers, in milliseconds, without building it', () => {
  const bomb = new Uint8Array(4 * MiB).fill(0xa0) // each 0xa0 is an empty map
  bomb.set([0x9a, 0x00, 0x3f, 0xff, 0xfb]) // array of 4 MiB - 5 items
  const heapBefore = process.memoryUsage().heapUsed
  const start = performance.now()
  assert.throws(() => decodeCbor(bomb, 5 * MiB, 'request', { maxItems: 32, maxDepth: 2 }), malformed)
  // Even with generous limits the walk is linear and allocates nothing.
  assert.match(structureProblem(bomb, { maxItems: 1e9, maxDepth: 8 }) ?? 'accepted', /accepted/)
  const elapsed = performance.now() - start
  assert.ok(elapsed < 1_000, `took ${elapsed} ms`)
  assert.ok(process.memoryUsage().heapUsed - heapBefore < 64 * MiB, 'no value was built')
})

test('items and depth are bounded as given; the shapes IPMS sends fit the defaults', () => {
  assert.equal(decodeCbor(encodeCbor({ a: [1, 2], b: 'x' }), 1024, 'value', { maxItems: 7, maxDepth: 2 }) !== undefined, true) // the map, 2 keys, the array, 3 values
  assert.throws(() => decodeCbor(encodeCbor({ a: [1, 2], b: 'x' }), 1024, 'value', { maxItems: 6, maxDepth: 2 }), /more than 6 items/)
  assert.throws(() => decodeCbor(encodeCbor({ a: { b: { c: 1 } } }), 1024, 'value', { maxItems: 99, maxDepth: 2 }), /deeper than 2/)
  assert.throws(() => decodeCbor(encodeCbor([[[[[[[[[[1]]]]]]]]]]), 1024, 'value'), /deeper than 8/)
  // An array that claims more items than its bytes hold is refused at its header.
  assert.throws(() => decodeCbor(Uint8Array.from([0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 1024, 'value'), /more than 4096 items/)
})

test('non-canonical encodings are refused: unsorted map keys, long integer forms, half floats, indefinite lengths, trailing bytes', () => {
  const canonical = encodeCbor({ v: 1, t: 'deliver' })
  assert.deepEqual(decodeCbor(canonical, 1024, 'request'), { v: 1, t: 'deliver' })
  const unsorted = Uint8Array.from([0xa2, 0x61, 0x76, 0x01, 0x61, 0x74, 0x61, 0x78]) // { v: 1, t: 'x' }: v before t
  assert.deepEqual(dagCbor.decode(unsorted), { v: 1, t: 'x' }, 'the plain decoder accepts it')
  assert.throws(() => decodeCbor(unsorted, 1024, 'request'), /canonical/)
  assert.throws(() => decodeCbor(Uint8Array.from([0x18, 0x01]), 1024, 'value'), malformed) // 1 in two bytes
  assert.throws(() => decodeCbor(Uint8Array.from([0xf9, 0x3c, 0x00]), 1024, 'value'), malformed) // 1.0 as a half float
  assert.throws(() => decodeCbor(Uint8Array.from([0x9f, 0x01, 0xff]), 1024, 'value'), /indefinite/)
  assert.throws(() => decodeCbor(Uint8Array.from([0x01, 0x01]), 1024, 'value'), /bytes follow/)
  assert.throws(() => decodeCbor(Uint8Array.from([0x5a, 0x00, 0x10, 0x00, 0x00, 1]), 1024, 'value'), /past the end/)
  assert.throws(() => decodeCbor(new Uint8Array(2048), 1024, 'value'), TooLargeError)
})

test('a map with a __proto__ key (the decoder would make it the object\'s prototype) is refused as a MalformedError, never a TypeError', () => {
  for (const value of [new Uint8Array([0x42, 1, 2]), new Uint8Array([0xa0]), new Uint8Array([0x80])]) {
    // { "__proto__": <bytes | map | list> }, written by hand: map(1), text(9), value
    const bytes = new Uint8Array([0xa1, 0x69, ...new TextEncoder().encode('__proto__'), ...value])
    assert.throws(() => decodeCbor(bytes, 1024, 'request'), (err: unknown) => err instanceof MalformedError)
  }
  // What such a value looks like: `instanceof Uint8Array` holds, yet it is no byte array.
  const fake = Object.create(Uint8Array.prototype) as Uint8Array
  assert.equal(fake instanceof Uint8Array, true)
  assert.equal(isBytes(fake), false)
  assert.equal(isBytes(new Uint8Array(2)), true)
  assert.equal(isBytes(Buffer.from('ab')), true)
})
