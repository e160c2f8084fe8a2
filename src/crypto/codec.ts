/**
 * Byte-level codec helpers shared by every format: dag-cbor with a size cap, domain-separated
 * signing input, and small integer encodings. See docs/PROTOCOL.md §1 (conventions).
 *
 * Untrusted bytes pass through `decodeCbor`, which refuses oversize input before decoding and turns
 * every decoder failure into a `MalformedError`; callers then check the shape.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { MalformedError, TooLargeError } from '../errors.ts'

const utf8 = new TextEncoder()

/** Encode a value as canonical dag-cbor (sorted map keys, no floats for integers). */
export function encodeCbor (value: unknown): Uint8Array {
  return dagCbor.encode(value)
}

/**
 * Decode untrusted dag-cbor: refuses more than `maxBytes` before decoding, and reports any decoder
 * error as `MalformedError` (`what` names the thing, e.g. "envelope").
 */
export function decodeCbor (bytes: Uint8Array, maxBytes: number, what: string): unknown {
  if (!(bytes instanceof Uint8Array)) throw new MalformedError(`The ${what} is not a byte array`)
  if (bytes.byteLength > maxBytes) {
    throw new TooLargeError(`The ${what} is ${bytes.byteLength} bytes, over the limit of ${maxBytes} bytes; it is refused unread`)
  }
  try {
    return dagCbor.decode(bytes)
  } catch (err) {
    throw new MalformedError(`The ${what} is not valid dag-cbor: ${(err as Error).message}`, { cause: err })
  }
}

/** Concatenate byte arrays. */
export function concatBytes (...parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const part of parts) length += part.byteLength
  const out = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}

/** `utf8(tag) ‖ 0x00 ‖ payload`: the input of every IPMS signature and tagged hash. */
export function taggedBytes (tag: string, ...payload: Uint8Array[]): Uint8Array {
  return concatBytes(utf8.encode(tag), new Uint8Array([0]), ...payload)
}

/** UTF-8 bytes of a string. */
export function utf8Bytes (text: string): Uint8Array {
  return utf8.encode(text)
}

/** Big-endian unsigned integer of `width` bytes (1, 2, 4 or 8); throws RangeError if it does not fit. */
export function uintBE (value: number | bigint, width: 1 | 2 | 4 | 8): Uint8Array {
  const big = BigInt(value)
  if (big < 0n || big >= 1n << BigInt(width * 8)) throw new RangeError(`${value} does not fit in ${width} bytes`)
  const out = new Uint8Array(width)
  let rest = big
  for (let i = width - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn)
    rest >>= 8n
  }
  return out
}

/** `u16be(length) ‖ bytes`: a length-prefixed field, so that concatenations stay unambiguous. */
export function lengthPrefixed (bytes: Uint8Array): Uint8Array {
  return concatBytes(uintBE(bytes.byteLength, 2), bytes)
}

/** Constant-time equality of two byte arrays of public length. */
export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  let diff = 0
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}
