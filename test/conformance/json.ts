/**
 * The JSON form of the conformance vectors (docs/PROTOCOL.md §7): byte strings are lowercase hex,
 * and inside a structured value (a record's fields, a frame's message) a byte string is written
 * `{ "$hex": "…" }` so that it stays apart from text. Everything else is plain JSON.
 */

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
export const unhex = (text: string): Uint8Array => {
  if (typeof text !== 'string' || !/^([0-9a-f]{2})*$/.test(text)) throw new TypeError('expected lowercase hex')
  return new Uint8Array(Buffer.from(text, 'hex'))
}

/** A value with byte strings, as JSON: each Uint8Array becomes `{ $hex }`. */
export function toJson (value: unknown): unknown {
  if (value instanceof Uint8Array) return { $hex: hex(value) }
  if (Array.isArray(value)) return value.map(toJson)
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]))
  return value
}

/** The inverse of `toJson`. */
export function fromJson (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromJson)
  if (typeof value === 'object' && value !== null) {
    const map = value as Record<string, unknown>
    if (Object.keys(map).length === 1 && typeof map.$hex === 'string') return unhex(map.$hex)
    return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, fromJson(v)]))
  }
  return value
}

/** The operations of the conformance interface (docs/PROTOCOL.md §7.1), each one format or check. */
export const OPERATIONS = [
  'seal-mail', 'open-mail', 'peer-id', 'read-identity', 'read-kubo-identity', 'read-backup', 'inbox-address', 'pow-challenge', 'check-mail-payload', 'sign-prune', 'check-prune-payload', 'entry', 'check-entry',
  'sign-record', 'verify-record', 'sign-receipt', 'verify-receipt', 'hosts-record', 'encode-frame', 'read-deliver-request',
  'read-deliver-answer', 'read-sync-frame'
] as const

/** One vector: an operation, its input, and what a conforming implementation answers. */
export interface Vector {
  name: string
  op: string
  input: Record<string, unknown>
  /** The answer when the operation succeeds (every field compared). */
  output?: Record<string, unknown>
  /** The error code (docs/PROTOCOL.md §8) when the operation MUST refuse. */
  error?: string
  /** Intermediate values, to find where an implementation goes wrong: informative, never compared. */
  intermediate?: Record<string, unknown>
}

/** What an implementation answers for one vector: its output, or the code it refused with. */
export type Answer = { output: Record<string, unknown> } | { error: string }

/** An implementation of the operations: the adapter's contract. */
export type Operations = (op: string, input: Record<string, unknown>) => Promise<Record<string, unknown>>

/** Run one vector through `ops`: an error with a `code` becomes `{ error }`. */
export async function answer (ops: Operations, op: string, input: Record<string, unknown>): Promise<Answer> {
  try {
    return { output: await ops(op, input) }
  } catch (err) {
    const code = (err as { code?: unknown }).code
    return { error: typeof code === 'string' ? code : `uncoded: ${(err as Error).message}` }
  }
}

/** Why `got` does not conform to vector `v`, or undefined. */
export function mismatch (v: Vector, got: Answer): string | undefined {
  if (v.error !== undefined) return 'error' in got && got.error === v.error ? undefined : `expected refusal ${v.error}, got ${JSON.stringify(got).slice(0, 300)}`
  if (!('output' in got)) return `expected an output, got refusal ${got.error}`
  for (const [key, want] of Object.entries(v.output ?? {})) {
    if (JSON.stringify(got.output[key]) !== JSON.stringify(want)) return `${key}: expected ${JSON.stringify(want).slice(0, 200)}, got ${JSON.stringify(got.output[key])?.slice(0, 200)}`
  }
  return undefined
}
