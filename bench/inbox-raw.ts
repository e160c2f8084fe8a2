/**
 * The raw OrbitDB baseline of bench/inbox.ts, and the waiting helpers both sides share.
 *
 * Raw = an OrbitDB 4 `events` database opened with default options (IPFSAccessController, one
 * writer; OrbitDB's built-in Sync on: gossipsub topic + `/orbitdb/heads` exchange, missing entries
 * fetched over bitswap), 1 KiB random payloads, on the same kind of node as IPMS (createNode,
 * 127.0.0.1 TCP, LevelDB homes in os.tmpdir()), in an OrbitDB instance of its own with OrbitDB's
 * default identity (secp256k1), as OrbitDB ships.
 *
 * "B has all N entries" is detected without walking the log: with one writer an entry's Lamport
 * time is its position (1…N), and `log.joinEntry` fetches and verifies every missing ancestor before
 * it emits 'update' for a head, so an 'update' with `clock.time === N` means the log is complete.
 * The count is checked once more (`log.values()`) after the clock has stopped.
 *
 * Watch out for: OrbitDB's Sync reports some failures as 'error' on the database's EventEmitter
 * (Node exits when nobody listens) and logs join failures with console.error; `trapCrashes`
 * turns an uncaught exception or unhandled rejection during a measure into a reported failure.
 */
import crypto from 'node:crypto'
import type { EventEmitter } from 'node:events'
import { join } from 'node:path'
import { createOrbitDB, type OrbitDB } from '@orbitdb/core'
import { connect } from '../test/helpers/nodes.ts'
import { waitFor } from '../test/helpers/wait.ts'
import type { TestNode } from '../test/helpers/nodes.ts'

/** Deadline of one measure, ms. */
export const DEADLINE_MS = 120_000

/** A measured time, or why there is none. */
export type Outcome = { ms: number, note?: string } | { failed: string, afterMs: number, timedOut: boolean }

/** Uncaught exceptions and unhandled rejections while a measure runs: recorded, and they abort `signal`. */
export function trapCrashes (): { signal: AbortSignal, errors: string[], release: () => void } {
  const controller = new AbortController()
  const errors: string[] = []
  const onError = (err: unknown): void => {
    const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
    errors.push(text)
    controller.abort(new Error(`crashed: ${text}`))
  }
  process.on('uncaughtException', onError)
  process.on('unhandledRejection', onError)
  return {
    signal: controller.signal,
    errors,
    release: () => {
      process.off('uncaughtException', onError)
      process.off('unhandledRejection', onError)
    }
  }
}

/** The clock of one measure: `start()` (default: when the body starts) and `stop()` (default: when it ends). */
export interface Clock {
  start: () => void
  stop: () => void
  /** ms since `start()`. */
  elapsed: () => number
}

/** Run `body` with a deadline and a crash trap; its outcome (time, or why not), never a throw. */
export async function measure (body: (signal: AbortSignal, clock: Clock) => Promise<string | undefined>): Promise<Outcome> {
  const trap = trapCrashes()
  const signal = AbortSignal.any([AbortSignal.timeout(DEADLINE_MS), trap.signal])
  let started = performance.now()
  let stopped: number | undefined
  const clock: Clock = {
    start: () => { started = performance.now() },
    stop: () => { stopped ??= performance.now() },
    elapsed: () => performance.now() - started
  }
  try {
    const note = await body(signal, clock)
    const ms = (stopped ?? performance.now()) - started
    return note === undefined || note === '' ? { ms } : { ms, note }
  } catch (err) {
    const afterMs = performance.now() - started
    const timedOut = trap.errors.length === 0 && (err as Error)?.name === 'TimeoutError'
    const reason = timedOut ? `timed out after ${Math.round(DEADLINE_MS / 1000)} s` : (err as Error)?.message ?? String(err)
    return { failed: trap.errors.length > 0 ? `crashed: ${trap.errors[0]}` : reason, afterMs, timedOut }
  } finally {
    trap.release()
  }
}

/** Notes joined with '; ', blanks dropped. */
export const notes = (...parts: Array<string | undefined>): string => parts.filter(p => p !== undefined && p !== '').join('; ')

/**
 * Resolve when OrbitDB's built-in Sync links `dbA` on node `a` and `dbB` on node `b` both ways:
 * each side has joined the other and both are subscribed to the database's gossipsub topic, so a
 * new append on one reaches the other at once.
 */
export async function waitLiveReplicas (dbA: { address: string, events: EventEmitter, peers: Set<string> }, dbB: { events: EventEmitter, peers: Set<string> }, a: TestNode, b: TestNode, signal: AbortSignal): Promise<void> {
  const [pubsubA, pubsubB] = [a.node.libp2p.services.pubsub, b.node.libp2p.services.pubsub]
  if (pubsubA === undefined || pubsubB === undefined) throw new Error('raw OrbitDB needs nodes started with { pubsub: true }')
  await waitFor([[dbA.events, 'join'], [dbB.events, 'join'], [pubsubA, 'subscription-change'], [pubsubB, 'subscription-change']], () =>
    dbA.peers.has(b.node.peerId) && dbB.peers.has(a.node.peerId) &&
    pubsubA.getSubscribers(dbA.address).some(p => p.toString() === b.node.peerId) &&
    pubsubB.getSubscribers(dbA.address).some(p => p.toString() === a.node.peerId), signal)
}

/** The raw events database, as far as the bench uses it. */
interface EventsDb {
  address: string
  add: (value: unknown) => Promise<string>
  events: EventEmitter
  log: { heads: () => Promise<Array<{ clock: { time: number } }>>, values: () => Promise<unknown[]> }
  peers: Set<string>
  close: () => Promise<void>
}

/** Track the highest Lamport time joined or appended in `db` (one writer: the entry count). */
function tracker (db: EventsDb): { latest: () => number, refresh: () => Promise<void>, stop: () => void, errors: string[] } {
  let latest = 0
  const errors: string[] = []
  const onUpdate = (entry: { clock?: { time?: number } }): void => { latest = Math.max(latest, entry?.clock?.time ?? 0) }
  const onError = (err: unknown): void => { errors.push(err instanceof Error ? err.message : String(err)) }
  db.events.on('update', onUpdate)
  db.events.on('error', onError)
  return {
    latest: () => latest,
    refresh: async () => { for (const head of await db.log.heads()) latest = Math.max(latest, head.clock.time) },
    stop: () => { db.events.off('update', onUpdate) },
    errors
  }
}

const errorsNote = (errors: string[]): string | undefined =>
  errors.length === 0 ? undefined : `${errors.length} Sync error event(s), first: ${errors[0]}`

export const rawPayloads = (count: number): Uint8Array[] =>
  Array.from({ length: count }, () => new Uint8Array(crypto.randomBytes(1024)))

/**
 * Raw OrbitDB as it ships: its own instance on the node's Helia, with its default identity
 * (secp256k1 in pure JS), not the Ed25519 key IPMS gives the node's OrbitDB.
 */
const rawInstances = new Map<TestNode, Promise<OrbitDB>>()
const rawOrbitDB = async (node: TestNode): Promise<OrbitDB> => {
  let instance = rawInstances.get(node)
  if (instance === undefined) {
    instance = createOrbitDB({ ipfs: node.node.helia, directory: join(node.home, 'raw-orbitdb'), id: `raw-${node.node.peerId}` })
    rawInstances.set(node, instance)
  }
  return await instance
}

const open = async (node: TestNode, address: string): Promise<EventsDb> =>
  await (await rawOrbitDB(node)).open(address, { type: 'events' }) as unknown as EventsDb

/** Catch-up of a new replica: `b` connects (untimed), then opens `db` of `a` by address (timed) until it holds all `count` entries. */
async function rawCatchUp (a: TestNode, b: TestNode, db: EventsDb, count: number): Promise<Outcome> {
  await connect(b.node, a.node)
  let replica: EventsDb | undefined
  const catchUp = await measure(async (signal, clock) => {
    clock.start()
    replica = await open(b, db.address)
    const t = tracker(replica)
    try {
      await t.refresh()
      await waitFor([[replica.events, 'update']], () => t.latest() >= count, signal)
      clock.stop()
    } finally { t.stop() }
    const entries = (await replica.log.values()).length
    return notes(entries === count ? undefined : `B's log holds ${entries} entries`, errorsNote(t.errors))
  })
  await replica?.close().catch(() => {})
  return catchUp
}

/** Raw catch-up alone, on a database of `count` entries appended on `a` (untimed); the caller stops the nodes. */
export async function benchRawCatchUp (a: TestNode, b: TestNode, count: number): Promise<Outcome> {
  const db = await open(a, `bench-raw-large-${crypto.randomBytes(4).toString('hex')}`)
  db.events.on('error', () => {})
  try {
    for (const payload of rawPayloads(count)) await db.add(payload)
    return await rawCatchUp(a, b, db, count)
  } finally {
    await db.close().catch(() => {})
    for (const node of [a, b]) {
      const instance = rawInstances.get(node)
      rawInstances.delete(node)
      await (await instance)?.stop().catch(() => {})
    }
  }
}

/**
 * The three raw measures on nodes `a` and `b` (connected here). `a` gets the databases; `b` is
 * fresh. Returns the outcomes; the caller stops the nodes.
 */
export async function benchRawOrbitDB (a: TestNode, b: TestNode, count: number, warmup: number): Promise<{ append: Outcome, catchUp: Outcome, live: Outcome }> {
  const tag = crypto.randomBytes(4).toString('hex')
  const onError = (): void => {}

  // Warm-up (JIT, LevelDB): a throwaway database.
  const warm = await open(a, `bench-raw-warm-${tag}`)
  warm.events.on('error', onError)
  for (const payload of rawPayloads(warmup)) await warm.add(payload)
  await warm.close()

  // 1. append
  const db = await open(a, `bench-raw-${tag}`)
  db.events.on('error', onError)
  const payloads = rawPayloads(count)
  const append = await measure(async () => {
    for (const payload of payloads) await db.add(payload)
    return undefined
  })

  // 2. catch-up of a new replica
  const catchUp = await rawCatchUp(a, b, db, count)
  await db.close().catch(() => {})

  // 3. live: both have a new database open and have exchanged heads (untimed); a appends, b receives.
  let liveA: EventsDb | undefined
  let liveB: EventsDb | undefined
  let t: ReturnType<typeof tracker> | undefined
  const live = await measure(async (signal, clock) => {
    const dbA = liveA = await open(a, `bench-raw-live-${tag}`)
    dbA.events.on('error', onError)
    const dbB = liveB = await open(b, dbA.address)
    dbB.events.on('error', onError)
    await waitLiveReplicas(dbA, dbB, a, b, signal)
    const livePayloads = rawPayloads(count)
    const track = t = tracker(dbB)
    clock.start()
    let appendMs = 0
    const appending = (async () => { for (const payload of livePayloads) await dbA.add(payload); appendMs = clock.elapsed() })()
    appending.catch(() => {}) // awaited below; a failure shows there
    await waitFor([[dbB.events, 'update']], () => track.latest() >= count, signal)
    clock.stop()
    await appending
    const entries = (await dbB.log.values()).length
    return notes(`A's appends done at ${(appendMs / 1000).toFixed(1)} s`, entries === count ? undefined : `B's log holds ${entries} entries`, errorsNote(track.errors))
  })
  t?.stop()
  await liveB?.close().catch(() => {})
  await liveA?.close().catch(() => {})
  for (const node of [a, b]) {
    const instance = rawInstances.get(node)
    rawInstances.delete(node)
    await (await instance)?.stop().catch(() => {})
  }
  return { append, catchUp, live }
}
