/**
 * Field checks for decoded, untrusted dag-cbor values (docs/PROTOCOL.md §1: fixed fields, bounded
 * values). One place for "is this a map", "exactly these keys", "a time", used by every check that
 * must never throw.
 *
 * Watch for: a decoded map is attacker-shaped. A key `__proto__` makes the decoder set the
 * object's prototype (so `value.v` may come from it, and `'x' in value` lies), and a key
 * `toString` or `valueOf` holding a CID or a map makes `String(value)` and template literals throw.
 * So: maps must be plain objects, fields are read only after the key set is checked, and no
 * unchecked value is ever turned into text (`describe` is the safe way to name one in a message).
 */
import { CID } from 'multiformats/cid'

/**
 * Real bytes: a Uint8Array (or Buffer) with its internal slot, not an object whose prototype a
 * decoded `__proto__` key made Uint8Array's (`instanceof` is true for it, and reading its length throws).
 */
export function isBytes (value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && ArrayBuffer.isView(value)
}

/** A plain map as dag-cbor decodes one: an Object-prototype object, not an array, bytes or a CID. */
export function isPlainMap (value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) return false
  if (Object.getPrototypeOf(value) !== Object.prototype) return false
  return CID.asCID(value) === null
}

/** True when the own keys of `fields` are exactly `keys` (given sorted). */
export function hasExactly (fields: Record<string, unknown>, keys: readonly string[]): boolean {
  const own = Object.keys(fields).sort()
  return own.length === keys.length && own.every((k, i) => k === keys[i])
}

/** Whole milliseconds since 1970: a safe non-negative integer (never a bigint). */
export const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0

/** A safe integer in [min, max] (never a bigint). */
export const isIntegerIn = (value: unknown, min: number, max: number): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max

/** A short, safe name of an untrusted value's kind for error messages: never its text. */
export function describe (value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'number') return Number.isSafeInteger(value) && Math.abs(value) < 1e6 ? `${value}` : 'a number'
  if (typeof value === 'bigint') return 'a big integer'
  if (typeof value === 'string') return 'a string'
  if (Array.isArray(value)) return 'a list'
  if (value instanceof Uint8Array) return 'bytes'
  if (typeof value === 'object') return CID.asCID(value) === null ? 'a map' : 'a CID'
  return typeof value
}
