/**
 * The outbox: mail that does not have all its receipts yet, kept on disk with its solved stamp and
 * retried with backoff (docs/ARCHITECTURE.md, node). Nothing is lost if the process is killed at
 * any point: a mail is written here (fsync'd) before the first delivery attempt, and leaves only
 * once enough hosts have signed receipts.
 *
 *   <home>/outbox/<envelope CID>.cbor   dag-cbor { v: 1, card, inbox, envelope, payload, replicas,
 *                                                  receipts, attempts, nextAttempt, lastError?, created, pass? }
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { FORMAT_VERSION } from '../constants.ts'
import { encodeCard, type CardHost } from '../hosting/card.ts'
import type { Draft } from '../mail/seal.ts'
import type { Receipt } from './deliver.ts'
import { readCborFiles, syncDirectory, writeFileSynced } from '../util/durable-files.ts'
import { cardDestination, deliverPrepared, prepareMail, type Destination, type PreparedMail, type SendMailOptions } from './send-mail.ts'

/** First retry delay, ms; doubled per attempt up to MAX_BACKOFF_MS, with ±20 % jitter. */
export const FIRST_BACKOFF_MS = 30_000
export const MAX_BACKOFF_MS = 60 * 60_000

type Failures = Awaited<ReturnType<typeof deliverPrepared>>['failures']

/** One mail waiting in the outbox. */
export interface OutboxEntry {
  v: 1
  /** The envelope CID: the entry's name. */
  id: string
  /** The recipient's card as text (hosts and difficulty, signed by the recipient), when sent by card. */
  card?: string
  /** The recipient (always present since the DHT; older entries name it in `card` only). */
  to?: string
  /** Without a card: the inbox difficulty and the nodes to deliver to (the owner's own, found on the DHT). */
  bits?: number
  hosts?: CardHost[]
  inbox: string
  envelope: Uint8Array
  payload: PreparedMail['payload']
  /** Receipts wanted from distinct hosts. */
  replicas: number
  receipts: Receipt[]
  attempts: number
  /** Not before this time, ms. */
  nextAttempt: number
  lastError?: string
  created: number
  /** The pass shown to hosts (dag-cbor bytes, docs/PROTOCOL.md §11.3), when the owner gave the sender one. */
  pass?: Uint8Array
}

export interface Outbox {
  /** Seal, stamp and keep a mail, then try to deliver it; resolves with its entry (gone if delivered). */
  send: (draft: Draft, options: SendMailOptions) => Promise<{ entry: OutboxEntry, delivered: boolean, failures: Failures }>
  /** Mail still waiting, oldest first. */
  list: () => Promise<OutboxEntry[]>
  /** Try every mail whose time has come (all of them with `force`). Returns the ones delivered. */
  retry: (options?: { now?: number, force?: boolean, signal?: AbortSignal }) => Promise<OutboxEntry[]>
}

function backoff (attempts: number): number {
  const base = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.max(0, attempts - 1))
  return Math.round(base * (0.8 + 0.4 * Math.random()))
}

export function openOutbox (home: string, options: { now?: () => number } = {}): Outbox {
  const directory = join(home, 'outbox')
  const clock = options.now ?? Date.now

  const save = async (entry: OutboxEntry): Promise<void> => {
    await writeFileSynced(directory, `${entry.id}.cbor`, dagCbor.encode(stripUndefined(entry)))
    await syncDirectory(directory)
  }

  const remove = async (entry: OutboxEntry): Promise<void> => { await rm(join(directory, `${entry.id}.cbor`), { force: true }) }

  /** One delivery round for `entry`: new receipts are kept; done when enough. */
  const attempt = async (entry: OutboxEntry, options: Pick<SendMailOptions, 'signal' | 'timeoutMs' | 'onHost'> = {}): Promise<{ done: boolean, failures: Failures }> => {
    const prepared: PreparedMail = { destination: destinationOfEntry(entry), inbox: entry.inbox, envelope: entry.envelope, payload: entry.payload }
    const { receipts, failures } = await deliverPrepared(prepared, entry.replicas - entry.receipts.length, { ...options, exclude: entry.receipts.map(r => r.host) })
    entry.receipts.push(...receipts)
    entry.attempts++
    if (entry.receipts.length >= entry.replicas) {
      await remove(entry)
      return { done: true, failures }
    }
    entry.lastError = failures.map(f => `${f.host}: ${f.code}`).join('; ') || 'no host left to try'
    entry.nextAttempt = clock() + backoff(entry.attempts)
    await save(entry)
    return { done: false, failures }
  }

  const retry = async (options: { now?: number, force?: boolean, signal?: AbortSignal, except?: string } = {}): Promise<OutboxEntry[]> => {
    const now = options.now ?? clock()
    const delivered: OutboxEntry[] = []
    for (const entry of await list()) {
      if (entry.id === options.except || (options.force !== true && entry.nextAttempt > now)) continue
      if ((await attempt(entry, { signal: options.signal })).done) delivered.push(entry)
    }
    return delivered
  }

  const list = async (): Promise<OutboxEntry[]> =>
    (await readCborFiles<OutboxEntry>(directory)).sort((a, b) => a.created - b.created)

  return {
    send: async (draft, options) => {
      const prepared = await prepareMail(draft, options)
      const entry: OutboxEntry = {
        v: FORMAT_VERSION,
        id: prepared.payload.env,
        ...(prepared.destination.card === undefined
          ? { bits: prepared.destination.bits, hosts: prepared.destination.hosts }
          : { card: encodeCard(prepared.destination.card) }),
        to: prepared.destination.owner,
        inbox: prepared.inbox,
        envelope: prepared.envelope,
        payload: prepared.payload,
        replicas: options.replicas ?? 1,
        receipts: [],
        attempts: 0,
        nextAttempt: 0,
        created: clock(),
        pass: prepared.destination.pass
      }
      await save(entry) // before any delivery: a crash from here on loses nothing
      const { done: delivered, failures } = await attempt(entry, options)
      // A send is also the moment to retry what is due (mail left by an earlier run).
      await retry({ signal: options.signal, except: entry.id })
      return { entry, delivered, failures }
    },
    list,
    retry: async (options = {}) => await retry(options)
  }
}

/** Where an outbox entry goes: its card's hosts, or the hosts kept with it. */
export function destinationOfEntry (entry: OutboxEntry): Destination {
  const pass = entry.pass === undefined ? {} : { pass: entry.pass }
  if (entry.card !== undefined) return { ...cardDestination(entry.card), ...pass }
  return { owner: entry.to!, bits: entry.bits!, hosts: entry.hosts ?? [], ...pass }
}

function stripUndefined<T extends object> (value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}


/**
 * While a node runs: retry the outbox every `intervalMs` (default 30 s) until `signal` aborts.
 * The timer never keeps the process alive by itself.
 */
export function retryPeriodically (outbox: Outbox, options: { intervalMs?: number, signal: AbortSignal, onError?: (err: unknown) => void }): void {
  let running = false
  const timer = setInterval(() => {
    if (running) return
    running = true
    outbox.retry({ signal: options.signal }).catch(err => options.onError?.(err)).finally(() => { running = false })
  }, options.intervalMs ?? FIRST_BACKOFF_MS)
  timer.unref()
  options.signal.addEventListener('abort', () => { clearInterval(timer) }, { once: true })
}
