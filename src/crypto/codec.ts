/**
 * Byte-level codec helpers shared by every format: dag-cbor with a size cap, domain-separated
 * signing input, and small integer encodings. See docs/PROTOCOL.md §1 (conventions).
 *
 * Untrusted bytes pass through `decodeCbor`, which refuses oversize input before decoding, bounds
 * the item count and depth before anything is built, refuses non-canonical encodings (§1: one value,
 * one encoding) and turns every decoder failure into a `MalformedError`; callers then check the shape.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { MalformedError, TooLargeError } from '../errors.ts'
import { isBytes } from '../util/fields.ts'

const utf8 = new TextEncoder()

/** Encode a value as canonical dag-cbor (sorted map keys, no floats for integers). */
export function encodeCbor (value: unknown): Uint8Array {
  return dagCbor.encode(value)
}

/**
 * Bounds on the structure of one decoded value (PROTOCOL §1): every data item counts one (a map
 * entry counts two: its key and its value), and each array or map opens one level of depth.
 */
export interface CborLimits {
  /** Most data items in the whole value. */
  maxItems: number
  /** Deepest nesting of arrays and maps (a map at top level is depth 1). */
  maxDepth: number
}

/**
 * Default bounds for a value whose shape is not given: above any IPMS structure (a mail with 64
 * attachments has about 500 items, a card about 250), far below what makes decoding costly.
 */
export const DEFAULT_CBOR_LIMITS: Readonly<CborLimits> = Object.freeze({ maxItems: 4096, maxDepth: 8 })

/**
 * Decode untrusted dag-cbor, strictly: refuses more than `maxBytes` before decoding
 * (`TooLargeError`); then walks the CBOR headers without allocating and refuses more items or
 * deeper nesting than `limits` (so a 4 MiB array of empty maps costs a few µs, not seconds and
 * hundreds of MiB), indefinite lengths, reserved values and trailing bytes; then decodes, and
 * refuses any value whose canonical encoding is not exactly `bytes` (unsorted keys, long integer
 * forms, half floats…). Every refusal after the size is a `MalformedError`; `what` names the
 * thing, e.g. "envelope".
 */
export function decodeCbor (bytes: Uint8Array, maxBytes: number, what: string, limits: CborLimits = DEFAULT_CBOR_LIMITS): unknown {
  if (!(isBytes(bytes))) throw new MalformedError(`The ${what} is not a byte array`)
  if (bytes.byteLength > maxBytes) {
    throw new TooLargeError(`The ${what} is ${bytes.byteLength} bytes, over the limit of ${maxBytes} bytes; it is refused unread`)
  }
  const problem = structureProblem(bytes, limits)
  if (problem !== undefined) throw new MalformedError(`The ${what} is refused before decoding: ${problem}`)
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch (err) {
    throw new MalformedError(`The ${what} is not valid dag-cbor: ${(err as Error).message}`, { cause: err })
  }
  // Public bytes: memcmp (Buffer.equals), not the constant-time loop, which is slow on 4 MiB. A
  // value that does not even encode again (a `__proto__` key makes the decoder set a prototype)
  // is not canonical either.
  let again: Uint8Array | undefined
  try { again = dagCbor.encode(value) } catch { again = undefined }
  if (again === undefined || !Buffer.from(again.buffer, again.byteOffset, again.byteLength).equals(bytes)) {
    throw new MalformedError(`The ${what} is not in canonical dag-cbor (sorted map keys, shortest forms): one value has one encoding`)
  }
  return value
}

/**
 * Refuse the head (first bytes) of an encoding that already shows more items or depth than
 * `limits`, or indefinite lengths: `MalformedError`, before the rest is even read.
 */
export function refuseBadHead (head: Uint8Array, limits: CborLimits, what: string): void {
  const problem = structureProblem(head, limits, { partial: true })
  if (problem !== undefined) throw new MalformedError(`The ${what} is refused from its first bytes: ${problem}`)
}

/**
 * What makes `bytes` exceed `limits` or not one well-formed definite-length CBOR item, or
 * undefined. Reads only the item headers (RFC 8949 §3): no value is built. With `partial`, `bytes`
 * is the head of a longer encoding: running out of bytes is no problem, only what the head already
 * shows (too many items, too deep, indefinite lengths). Never throws.
 */
export function structureProblem (bytes: Uint8Array, limits: CborLimits, options: { partial?: boolean } = {}): string | undefined {
  const cut = (problem: string): string | undefined => options.partial === true ? undefined : problem
  // open[d]: items still to read at depth d; the top level holds one item.
  const open: number[] = [1]
  let items = 0
  let pos = 0
  while (open.length > 0) {
    if (open[open.length - 1] === 0) { open.pop(); continue }
    open[open.length - 1]!--
    if (++items > limits.maxItems) return `more than ${limits.maxItems} items`
    if (pos >= bytes.byteLength) return cut('it ends inside an item')
    const initial = bytes[pos++]!
    const major = initial >> 5
    const info = initial & 0x1f
    let argument: number
    if (info < 24) argument = info
    else if (info <= 27) {
      const width = 1 << (info - 24)
      if (pos + width > bytes.byteLength) return cut('it ends inside an item header')
      argument = 0
      for (let i = 0; i < width; i++) argument = argument * 256 + bytes[pos + i]!
      pos += width
    } else return info === 31 ? 'indefinite lengths are not dag-cbor' : 'a reserved item header'
    if (major === 2 || major === 3) {
      if (argument > bytes.byteLength - pos) return cut('a string runs past the end')
      pos += argument
    } else if (major === 4 || major === 5) {
      const count = major === 5 ? argument * 2 : argument
      if (count > limits.maxItems - items) return `more than ${limits.maxItems} items`
      if (count > 0) {
        if (open.length > limits.maxDepth) return `nested deeper than ${limits.maxDepth}`
        open.push(count)
      }
    } else if (major === 6) {
      open[open.length - 1]!++ // a tag applies to the one item that follows, at the same depth
    }
  }
  return pos === bytes.byteLength ? undefined : 'bytes follow the item'
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
