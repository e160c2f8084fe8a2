/**
 * The shape of an inbox log entry, rules version 2 (docs/PROTOCOL.md §9.3): every field OrbitDB 4
 * or IPMS reads from an entry, bounded, so that a replica never holds an entry its own code cannot
 * process (a clock time of 2^64 made every later append and every read of the inbox throw).
 *
 *   entry = { v: 2, id: inbox, clock: { id: key, time: 1..2^40 }, next: [hash] ≤ 64, refs: [hash] ≤ 64,
 *             payload, key: hex Ed25519 (64) or secp256k1 (66), identity: = key, sig: hex }
 *
 * `entryShapeProblem` sees one entry (what `canAppend` sees); `clockProblem` checks the clock
 * against the entry's parents, which only the sync receiver has in hand (§10). Both are pure,
 * never throw, and answer ERR_MALFORMED with what is wrong.
 *
 * Watch for: `identity` and the encoding are not covered by the entry signature. Each free choice
 * there (another identity string, an uppercase hex signature, unsorted map keys) would give the
 * same signed entry a new hash: a replay that costs no work. So `identity` must equal `key`, hex
 * is lowercase, and the sync receiver refuses blocks that are not canonical dag-cbor.
 */
import { ENTRY_VERSION, MAX_ENTRY_CLOCK_TIME, MAX_ENTRY_LINKS } from '../constants.ts'
import { problemOf, type Problem } from '../errors.ts'
import { hasExactly, isIntegerIn, isPlainMap } from '../util/fields.ts'
import { isEntryHash } from './payloads.ts'

/** The fields of a stored entry, sorted (a decoded entry also carries `hash`, its CID). */
export const ENTRY_FIELDS = ['clock', 'id', 'identity', 'key', 'next', 'payload', 'refs', 'sig', 'v'] as const
const CLOCK_FIELDS = ['id', 'time'] as const

const ED25519_KEY_HEX = 64
const SECP256K1_KEY_HEX = 66
const ED25519_SIG_HEX = 128
/** A DER secp256k1 signature: 8 to 72 bytes. */
const SECP256K1_SIG_HEX = { min: 16, max: 144 }

const isLowerHex = (value: string): boolean => /^[0-9a-f]*$/.test(value)

/** What is wrong with `key` as OrbitDB writes it (lowercase hex of a raw public key), or undefined. */
function keyProblem (key: unknown): string | undefined {
  if (typeof key !== 'string' || (key.length !== ED25519_KEY_HEX && key.length !== SECP256K1_KEY_HEX) || !isLowerHex(key)) {
    return 'key must be the lowercase hex of an Ed25519 (32-byte) or compressed secp256k1 (33-byte) public key'
  }
  if (key.length === SECP256K1_KEY_HEX && !key.startsWith('02') && !key.startsWith('03')) return 'key is not a compressed secp256k1 key'
  return undefined
}

function sigProblem (sig: unknown, key: string): string | undefined {
  if (typeof sig !== 'string' || !isLowerHex(sig) || sig.length % 2 !== 0) return 'sig must be lowercase hex'
  const ok = key.length === ED25519_KEY_HEX
    ? sig.length === ED25519_SIG_HEX
    : sig.length >= SECP256K1_SIG_HEX.min && sig.length <= SECP256K1_SIG_HEX.max
  return ok ? undefined : 'sig has the wrong length for its key'
}

function linksProblem (name: string, links: unknown): string | undefined {
  if (!Array.isArray(links) || links.length > MAX_ENTRY_LINKS) return `${name} must list at most ${MAX_ENTRY_LINKS} entry hashes`
  if (!links.every(isEntryHash)) return `${name} must hold entry hashes (zdpu…)`
  if (new Set(links).size !== links.length) return `${name} must not repeat a hash`
  return undefined
}

/**
 * What is wrong with the shape of `entry` for the inbox `inbox` (its address, the log id), or
 * undefined. The payload is not looked at (the payload rules do that). Never throws.
 */
export const entryShapeProblem = (entry: unknown, inbox: string): Problem<'ERR_MALFORMED'> | undefined =>
  problemOf('ERR_MALFORMED', entryShape(entry, inbox))

function entryShape (entry: unknown, inbox: string): string | undefined {
  try {
    if (!isPlainMap(entry)) return 'not an entry (a map)'
    // `hash` is not stored: OrbitDB's decoder adds it, and it is the CID of the block.
    const { hash, ...stored } = entry
    if (hash !== undefined && !isEntryHash(hash)) return 'hash is not an entry hash'
    if (!hasExactly(stored, ENTRY_FIELDS)) return `an entry has exactly the fields ${ENTRY_FIELDS.join(', ')}`
    if (stored.v !== ENTRY_VERSION) return `v must be ${ENTRY_VERSION}`
    if (stored.id !== inbox) return 'id is not this inbox\'s address'
    const key = stored.key
    const problem = keyProblem(key) ?? sigProblem(stored.sig, key as string)
    if (problem !== undefined) return problem
    if (stored.identity !== key) return 'identity must equal key (it is not signed: any other value would be a free copy of the entry)'
    const clock = stored.clock
    if (!isPlainMap(clock) || !hasExactly(clock, CLOCK_FIELDS)) return 'clock must be { id, time }'
    if (clock.id !== key) return 'clock.id must equal key'
    if (!isIntegerIn(clock.time, 1, MAX_ENTRY_CLOCK_TIME)) return `clock.time must be a whole number from 1 to ${MAX_ENTRY_CLOCK_TIME}`
    const links = linksProblem('next', stored.next) ?? linksProblem('refs', stored.refs)
    if (links !== undefined) return links
    const next = stored.next as string[]
    const refs = stored.refs as string[]
    if (refs.some(hash => next.includes(hash))) return 'a hash is in both next and refs'
    if (next.length + refs.length === 0 && clock.time !== 1) return 'an entry without parents has clock.time 1'
    return undefined
  } catch {
    return 'the entry cannot be read'
  }
}

/** The Lamport time of an entry when it is a usable one (a whole number 1..MAX_ENTRY_CLOCK_TIME), else undefined. */
export function entryTime (entry: unknown): number | undefined {
  try {
    const time = (entry as { clock?: { time?: unknown } } | undefined)?.clock?.time
    return isIntegerIn(time, 1, MAX_ENTRY_CLOCK_TIME) ? time : undefined
  } catch {
    return undefined
  }
}

/**
 * What is wrong with `entry`'s clock given the clock times of all its parents (`next` and `refs`),
 * or undefined: it must be exactly max(parents) + 1, 1 without parents, which is what OrbitDB's
 * append and IPMS's log writer write. Never throws.
 */
export const clockProblem = (entry: unknown, parentTimes: Array<number | undefined>): Problem<'ERR_MALFORMED'> | undefined =>
  problemOf('ERR_MALFORMED', clockShape(entry, parentTimes))

function clockShape (entry: unknown, parentTimes: Array<number | undefined>): string | undefined {
  const time = entryTime(entry)
  if (time === undefined) return 'clock.time is not a usable time'
  let max = 0
  for (const parent of parentTimes) {
    if (parent === undefined) return 'a parent has no usable clock time'
    if (parent > max) max = parent
  }
  return time === max + 1 ? undefined : `clock.time ${time} is not 1 more than its parents' highest (${max})`
}
