/**
 * The outbox: mail that does not have all its receipts yet, kept on disk with its solved stamp and
 * retried with backoff (docs/PROTOCOL.md §12, "The outbox"; docs/ARCHITECTURE.md, node). Nothing is
 * lost if the process is killed at any point: a mail is written here (fsync'd) before the first
 * delivery attempt, and leaves only once enough hosts have signed receipts.
 *
 *   <home>/outbox/<envelope CID>.cbor   dag-cbor { v: 1, card, inbox, envelope, payload, replicas,
 *                                                  receipts, attempts, nextAttempt, lastError?, created, pass?,
 *                                                  gaveUp?, revived? }
 *   <home>/outbox/<envelope CID>.lease  which process is trying the mail now (outbox-lease.ts)
 *
 * A mail is given up (kept, listed with the reason, no longer tried) when it was not delivered
 * within the outbox's bound on its age, or when every host it still needs refused it for good
 * (PERMANENT_REFUSALS); `retry({ id })` revives it, `cancel` removes it. Each retry delivers by the
 * recipient's current card (`resolve`: contacts, the cards cache, the DHT), when it is newer than
 * the one the mail was sent with.
 *
 * Watch out for:
 * - Several processes share one outbox (sends, `outbox retry`, `sync`, the daemon): a mail is tried
 *   only under its lease, and read again under it (another process may have delivered it).
 * - Clocks: a mail refused as stale (`ERR_STALE`) is stamped again (new time, new proof-of-work,
 *   same envelope and receipts) once this machine's clock agrees with the host's; retries are
 *   scheduled on the monotonic clock within a process, and a next attempt read back from disk
 *   further ahead than any backoff (written by a clock that was ahead) is due at once.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { logger } from '@libp2p/logger'
import { CID } from 'multiformats/cid'
import { CLOCK_AGREEMENT_MS, FORMAT_VERSION, OUTBOX_MAX_AGE_MS } from '../constants.ts'
import { HomeInUseError, NotFoundError, type ErrorCode } from '../errors.ts'
import { shortPeer } from '../identity/short-peer.ts'
import { encodeCard, type CardHost } from '../hosting/card.ts'
import type { Draft } from '../mail/seal.ts'
import { DEFAULT_DELIVER_TIMEOUT_MS, type Receipt } from './deliver.ts'
import { readCborFile, readCborFiles, syncDirectory, writeFileSynced } from '../util/durable-files.ts'
import { removeStaleTemps } from '../util/temp-files.ts'
import { takeLease, type OutboxLease } from './outbox-lease.ts'
import { openContacts } from '../home/contacts.ts'
import { openMailStore, type MailStore } from '../mail/mail-store.ts'
import { cardDestination, clockNote, destinationOf, wantedReceipts, deliverPrepared, prepareMail, roughDuration, stampMail, type DeliveryFailure, type Destination, type PreparedMail, type SendMailOptions } from './send-mail.ts'
import { matchIdEnd } from '../util/id-end.ts'

/** First retry delay, ms; doubled per attempt up to MAX_BACKOFF_MS, with ±20 % jitter. */
export const FIRST_BACKOFF_MS = 30_000
export const MAX_BACKOFF_MS = 60 * 60_000
/** The furthest a next attempt is ever scheduled, ms: the longest backoff with its jitter. */
const MAX_SCHEDULE_MS = MAX_BACKOFF_MS * 1.2
/** Added to a lease beyond its attempt's deliveries (a fresh sender node, the disk), ms. */
const LEASE_MARGIN_MS = 60_000
/** The lease held while a mail is stamped again (the proof-of-work), ms. */
const RESTAMP_LEASE_MS = 10 * 60_000

const log = logger('ipms:outbox')

/**
 * Refusals the same mail never gets past at that host, however often it is offered (PROTOCOL §12,
 * "The outbox"): the host does not keep the inbox, or no longer (its grant expired); the mail
 * itself is refused (its bytes do not change between tries). Not among them: a full quota (it
 * clears when the owner reads: the mail is retried until the bound on its age), rates, a full
 * disk, a stale stamp (stamped again), a pass refused (the contact's current pass is shown next
 * time), a host that did not answer.
 */
export const PERMANENT_REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['ERR_NOT_HOSTED', 'ERR_GRANT_EXPIRED', 'ERR_BAD_ENVELOPE', 'ERR_MALFORMED', 'ERR_TOO_LARGE'])

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
  /** Not before this time (wall clock), ms. */
  nextAttempt: number
  lastError?: string
  created: number
  /** The pass shown to hosts (dag-cbor bytes, docs/PROTOCOL.md §11.3), when the owner gave the sender one. */
  pass?: Uint8Array
  /** Given up: not tried again unless revived (`retry({ id })`). When (wall clock, ms), and why in words. */
  gaveUp?: { time: number, reason: string }
  /** When an explicit retry last revived it (wall clock, ms): the bound on its age counts from here. */
  revived?: number
}

/** How one retry goes: the caller's bound on each host, and its signal. */
export interface RetryOptions {
  /** Wall-clock time to judge what is due by, ms. Default: the outbox's clock. */
  now?: number
  /** Try every mail, due or not. */
  force?: boolean
  signal?: AbortSignal
  /** Bound on reaching one host and getting its receipt, ms. Default 30 000. */
  timeoutMs?: number
  /**
   * Only this mail (its envelope CID, or the end of it), now, given up or not (a given-up mail is
   * revived). NotFoundError when no mail is named; HomeInUseError while another process tries it.
   */
  id?: string
}

/** What one retry did. */
export interface RetryReport {
  /** Delivered (enough receipts): gone from the outbox. */
  delivered: OutboxEntry[]
  /** Tried and not delivered: retried later. */
  waiting: OutboxEntry[]
  /** Given up by this retry (too old, or refused for good): kept, not tried again. */
  gaveUp: OutboxEntry[]
  /** The ids of due mail another process was trying: left to it. */
  busy: string[]
}

export interface OpenOutboxOptions {
  /** The wall clock, ms: stamps, `created`, `nextAttempt`. Default Date.now. */
  now?: () => number
  /** A monotonic clock, ms, for the retries scheduled in this process. Default performance.now. */
  monotonic?: () => number
  /**
   * Where a copy of each mail sent is kept, at sealing (mail/sent and the Maildir's .Sent). Default:
   * the home's mail store, with contacts' names; false: none kept.
   */
  sentStore?: Pick<MailStore, 'saveSent'> | false
  /**
   * How long a mail is retried, ms, counted from when it was handed over (or last revived), on the
   * wall clock: a clock set far ahead gives mail up early (`retry({ id })` revives it). Default 7 days.
   */
  maxAgeMs?: number
  /**
   * The recipient's current destination for a retry (resolve-recipient.ts: contacts, cards cache,
   * DHT), or undefined when nothing is found; its failure is not the mail's: the mail's own card is
   * used then. Default: none (the mail's own card).
   */
  resolve?: (owner: string, signal?: AbortSignal) => Promise<Destination | undefined>
  /** Called when a mail is given up (the daemon's `outbox-gave-up` event). */
  onGaveUp?: (entry: OutboxEntry) => void
}

export interface Outbox {
  /**
   * Seal, stamp and keep a mail, then try to deliver it; resolves with its entry (gone if
   * delivered) and this mail's outcome only. Then retries what else is due, without waiting for
   * mail another process is trying, and without letting that fail the send.
   */
  send: (draft: Draft, options: SendMailOptions) => Promise<{ entry: OutboxEntry, delivered: boolean, failures: DeliveryFailure[] }>
  /** Mail still waiting, oldest first. */
  list: () => Promise<OutboxEntry[]>
  /**
   * Try every mail whose time has come (all of them with `force`; given-up mail never, but the one
   * named by `id`) and that no other process is trying. Returns the ones delivered.
   */
  retry: (options?: RetryOptions) => Promise<OutboxEntry[]>
  /** The same retry, with what became of each mail it looked at. */
  retryReport: (options?: RetryOptions) => Promise<RetryReport>
  /**
   * Give up a waiting mail (`id`: its envelope CID, or the end of it): it leaves the outbox and is
   * not tried again (hosts that signed a receipt keep it). NotFoundError when no mail is named;
   * HomeInUseError (exit 75) while another process is delivering it.
   */
  cancel: (id: string) => Promise<OutboxEntry>
}

function backoff (attempts: number): number {
  const base = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.max(0, attempts - 1))
  return Math.round(base * (0.8 + 0.4 * Math.random()))
}

/**
 * Whether a new stamp can pass where the old one was refused as stale: this machine's clock agrees
 * with a host that said its time; or, when none said, it has moved away from the stamp's time
 * (time passed, or this clock was corrected since).
 */
function restampHelps (stale: DeliveryFailure[], stampTs: number, now: number): boolean {
  const skews = stale.flatMap(f => f.skewMs === undefined ? [] : [f.skewMs])
  if (skews.length > 0) return skews.some(s => Math.abs(s) <= CLOCK_AGREEMENT_MS)
  return Math.abs(now - stampTs) > CLOCK_AGREEMENT_MS
}

/** One host's failure in an entry's `lastError`: its code, and what is wrong with the clocks if that is why. */
function summary (failure: DeliveryFailure): string {
  const note = failure.skewMs === undefined ? undefined : clockNote(failure.skewMs)
  return `${failure.host}: ${failure.code}${note === undefined ? '' : ` (${note})`}`
}

/** Why every host still needed refused a mail for good, in words; undefined when one may still take it. */
function refusedForGood (hosts: CardHost[], receipts: Receipt[], failures: DeliveryFailure[]): string | undefined {
  const needed = hosts.filter(h => !receipts.some(r => r.host === h.peer))
  const refusals = needed.map(h => failures.find(f => f.host === h.peer))
  if (needed.length === 0 || !refusals.every(f => f !== undefined && PERMANENT_REFUSALS.has(f.code))) return undefined
  return (refusals as DeliveryFailure[]).map(f => f.code === 'ERR_NOT_HOSTED'
    ? `${shortPeer(f.host)} does not keep the recipient's inbox`
    : f.code === 'ERR_GRANT_EXPIRED' ? f.message : `${shortPeer(f.host)} refused the mail itself (${f.code})`).join('; ')
}

/** The recipients resolved during one retry (owner → their current destination, or the failure). */
type Lookups = Map<string, Promise<Destination | undefined>>

/** A card's or a destination's freshness: a card's time; none for hosts found without a card. */
const cardTime = (destination: Destination): number => destination.card?.ts ?? -1

/** The lease an attempt on `hosts` hosts needs: each may take the whole timeout. */
const leaseMs = (hosts: number, timeoutMs: number): number => Math.max(1, hosts) * timeoutMs + LEASE_MARGIN_MS

export function openOutbox (home: string, options: OpenOutboxOptions = {}): Outbox {
  const directory = join(home, 'outbox')
  const clock = options.now ?? Date.now
  const maxAgeMs = options.maxAgeMs ?? OUTBOX_MAX_AGE_MS
  const sentStore = options.sentStore ?? openMailStore(home, { nameOf: openContacts(home).nameOf })
  const monotonic = options.monotonic ?? (() => performance.now())
  /** Monotonic due times of the mail this process tried: a wall-clock jump moves none of them. */
  const dueAt = new Map<string, number>()

  const save = async (entry: OutboxEntry): Promise<void> => {
    await writeFileSynced(directory, `${entry.id}.cbor`, dagCbor.encode(stripUndefined(entry)))
    await syncDirectory(directory)
  }

  const remove = async (entry: OutboxEntry): Promise<void> => { await rm(join(directory, `${entry.id}.cbor`), { force: true }) }

  const read = async (id: string): Promise<OutboxEntry | undefined> => await readCborFile<OutboxEntry>(join(directory, `${id}.cbor`))

  const isDue = (entry: OutboxEntry, now: number, inProcess: boolean): boolean => {
    if (entry.gaveUp !== undefined) return false
    const due = inProcess ? dueAt.get(entry.id) : undefined
    if (due !== undefined) return monotonic() >= due
    const wait = entry.nextAttempt - now
    // Further ahead than any backoff: written by a clock that was ahead (or has been set back).
    return wait <= 0 || wait > MAX_SCHEDULE_MS
  }

  /**
   * One delivery round for `entry`, under its lease: new receipts are kept; a mail refused as stale
   * is stamped again and offered once more to the hosts that refused it, when that can help; done
   * when enough receipts.
   */
  const attempt = async (entry: OutboxEntry, destination: Destination, lease: OutboxLease | undefined, options: Pick<SendMailOptions, 'signal' | 'timeoutMs' | 'onHost' | 'onProgress'> = {}): Promise<{ done: boolean, failures: DeliveryFailure[] }> => {
    const timeoutMs = options.timeoutMs ?? DEFAULT_DELIVER_TIMEOUT_MS
    const round = async (hosts: CardHost[]): Promise<DeliveryFailure[]> => {
      const { receipts, failures } = await deliverPrepared(
        { destination: { ...destination, hosts }, inbox: entry.inbox, envelope: entry.envelope, payload: entry.payload },
        entry.replicas - entry.receipts.length,
        { ...options, timeoutMs, now: clock, exclude: entry.receipts.map(r => r.host) })
      entry.receipts.push(...receipts)
      return failures
    }
    let failures = await round(destination.hosts)
    const stale = failures.filter(f => f.code === 'ERR_STALE')
    if (entry.receipts.length < entry.replicas && stale.length > 0 && restampHelps(stale, entry.payload.ts, clock())) {
      await lease?.renew(RESTAMP_LEASE_MS)
      entry.payload = await stampMail({ inbox: entry.inbox, bits: destination.bits, envelopeCid: CID.parse(entry.payload.env), size: entry.envelope.byteLength },
        { signal: options.signal, onProgress: options.onProgress, now: clock })
      log('stamped %s again (ts %d) after a stale refusal', entry.id, entry.payload.ts)
      const refused = new Set(stale.map(f => f.host))
      const again = destination.hosts.filter(h => refused.has(h.peer))
      await lease?.renew(leaseMs(again.length, timeoutMs))
      failures = [...failures.filter(f => f.code !== 'ERR_STALE'), ...await round(again)]
    }
    entry.attempts++
    if (entry.receipts.length >= entry.replicas) {
      await remove(entry)
      dueAt.delete(entry.id)
      return { done: true, failures }
    }
    entry.lastError = failures.map(summary).join('; ') || 'no host left to try'
    const refused = refusedForGood(destination.hosts, entry.receipts, failures)
    if (refused !== undefined) {
      await giveUp(entry, `refused for good: ${refused}`)
      return { done: false, failures }
    }
    const delay = backoff(entry.attempts)
    entry.nextAttempt = clock() + delay
    dueAt.set(entry.id, monotonic() + delay)
    await save(entry)
    return { done: false, failures }
  }

  /** Keep the mail as given up, with why: listed, never tried again unless revived. */
  const giveUp = async (entry: OutboxEntry, reason: string): Promise<void> => {
    entry.gaveUp = { time: clock(), reason }
    dueAt.delete(entry.id)
    await save(entry)
    log('gave up %s: %s', entry.id, reason)
    options.onGaveUp?.(entry)
  }

  /**
   * Where a retry delivers: the recipient's current card when it is newer than the mail's (kept in
   * the entry from now on, with the contact's current pass), else the mail's own.
   */
  const currentDestination = async (entry: OutboxEntry, lookups: Lookups, signal?: AbortSignal): Promise<{ destination: Destination, movedTo?: number }> => {
    const kept = destinationOfEntry(entry)
    const resolve = options.resolve
    if (resolve === undefined) return { destination: kept }
    let found: Destination | undefined
    try {
      // Once per recipient and retry: ten mails to one recipient make one DHT lookup, not ten.
      let lookup = lookups.get(kept.owner)
      if (lookup === undefined) lookups.set(kept.owner, lookup = resolve(kept.owner, signal))
      found = await lookup
    } catch (err) {
      signal?.throwIfAborted()
      log('no current card for %s, delivering by the mail\'s own: %s', kept.owner, (err as Error).message)
    }
    if (found === undefined) return { destination: kept }
    const newer = cardTime(found) > cardTime(kept) || (found.card === undefined && kept.card === undefined)
    // Another difficulty is another inbox (§9.1), and the envelope is sealed to this one's address.
    if (newer && found.bits !== kept.bits) return { destination: kept, movedTo: found.bits }
    const chosen: Destination = newer ? { ...found } : { ...kept }
    if (found.pass === undefined) delete chosen.pass
    else chosen.pass = found.pass
    if (chosen.card !== undefined) {
      entry.card = encodeCard(chosen.card)
      delete entry.bits
      delete entry.hosts
    } else {
      entry.bits = chosen.bits
      entry.hosts = chosen.hosts
      delete entry.card
    }
    if (chosen.pass === undefined) delete entry.pass
    else entry.pass = chosen.pass
    return { destination: chosen }
  }

  /**
   * Try a listed entry under its lease: 'busy' when another process has it; undefined when it is
   * gone, no longer due or given up (but with `revive`).
   */
  const tryLeased = async (listed: OutboxEntry, retry: RetryOptions & { now: number, inProcess: boolean, lookups: Lookups, revive?: boolean }): Promise<{ entry: OutboxEntry, outcome: 'delivered' | 'waiting' | 'gave-up' } | 'busy' | undefined> => {
    const timeoutMs = retry.timeoutMs ?? DEFAULT_DELIVER_TIMEOUT_MS
    const lease = await takeLease(directory, listed.id, leaseMs(destinationOfEntry(listed).hosts.length, timeoutMs), clock)
    if (lease === undefined) return 'busy' // another process is trying it: not waited for
    try {
      const entry = await read(listed.id) // again under the lease: another process may have delivered it meanwhile
      if (entry === undefined) dueAt.delete(listed.id)
      if (entry === undefined) return undefined
      if (retry.revive === true && entry.gaveUp !== undefined) {
        delete entry.gaveUp
        entry.revived = clock()
      }
      if (entry.gaveUp !== undefined || (retry.force !== true && !isDue(entry, retry.now, retry.inProcess))) return undefined
      const age = clock() - (entry.revived ?? entry.created)
      if (age > maxAgeMs) {
        await giveUp(entry, `not delivered within ${roughDuration(maxAgeMs)} (since ${new Date(entry.revived ?? entry.created).toISOString()})`)
        return { entry, outcome: 'gave-up' }
      }
      const { destination, movedTo } = await currentDestination(entry, retry.lookups, retry.signal)
      if (movedTo !== undefined) {
        await giveUp(entry, `the recipient's inbox changed (difficulty ${destination.bits} → ${movedTo} bits): this mail is sealed to the old one; send it again`)
        return { entry, outcome: 'gave-up' }
      }
      await lease.renew(leaseMs(destination.hosts.length, timeoutMs))
      const { done } = await attempt(entry, destination, lease, { signal: retry.signal, timeoutMs })
      return { entry, outcome: done ? 'delivered' : entry.gaveUp === undefined ? 'waiting' : 'gave-up' }
    } finally {
      await lease.release()
    }
  }

  const retry = async (options: RetryOptions & { except?: string } = {}): Promise<RetryReport> => {
    const inProcess = options.now === undefined
    const now = options.now ?? clock()
    const report: RetryReport = { delivered: [], waiting: [], gaveUp: [], busy: [] }
    const lookups: Lookups = new Map()
    const record = (listed: OutboxEntry, tried: Awaited<ReturnType<typeof tryLeased>>): void => {
      if (tried === 'busy') report.busy.push(listed.id)
      else if (tried !== undefined) report[tried.outcome === 'delivered' ? 'delivered' : tried.outcome === 'waiting' ? 'waiting' : 'gaveUp'].push(tried.entry)
    }
    if (options.id !== undefined) {
      const listed = named(await list(), options.id)
      const tried = await tryLeased(listed, { ...options, force: true, revive: true, now, inProcess, lookups })
      if (tried === 'busy') throw new HomeInUseError(`Another ipms process is delivering ${listed.id.slice(-8)} right now: try again in a moment`)
      record(listed, tried)
      return report
    }
    for (const listed of await list()) {
      if (listed.id === options.except || listed.gaveUp !== undefined || (options.force !== true && !isDue(listed, now, inProcess))) continue
      record(listed, await tryLeased(listed, { ...options, now, inProcess, lookups }))
    }
    return report
  }

  /** The one waiting mail `id` names (its envelope CID or the end of it); NotFoundError otherwise. */
  const named = (entries: OutboxEntry[], id: string): OutboxEntry => {
    const matches = matchIdEnd(entries, id, e => e.id)
    if (matches.length !== 1) throw new NotFoundError(matches.length === 0 ? `No mail ${id} waits in the outbox (ipms outbox lists them)` : `${id} names ${matches.length} waiting mails: give more of the id`)
    return matches[0]!
  }

  /** Temp files of killed writers (entries, leases) go at first use, as in the mail store. */
  let cleaned: Promise<unknown> | undefined
  const list = async (): Promise<OutboxEntry[]> => {
    await (cleaned ??= removeStaleTemps(directory))
    return (await readCborFiles<OutboxEntry>(directory)).sort((a, b) => a.created - b.created)
  }

  const cancel: Outbox['cancel'] = async (id) => {
    const listed = named(await list(), id)
    const lease = await takeLease(directory, listed.id, LEASE_MARGIN_MS, clock)
    if (lease === undefined) throw new HomeInUseError(`Another ipms process is delivering ${listed.id.slice(-8)} right now: try again in a moment`)
    try {
      const entry = await read(listed.id)
      if (entry === undefined) throw new NotFoundError(`${listed.id.slice(-8)} left the outbox meanwhile: it was delivered`)
      await remove(entry)
      await syncDirectory(directory)
      dueAt.delete(entry.id)
      return entry
    } finally {
      await lease.release()
    }
  }

  return {
    cancel,
    send: async (draft, options) => {
      wantedReceipts(destinationOf(options.card), options.replicas) // before the proof-of-work
      // The owner's own node, looked for while the proof-of-work runs (mail as chat).
      const reachable = options.reachNow?.().catch(() => [] as CardHost[])
      const prepared = await prepareMail(draft, { ...options, now: clock })
      const direct = await reachable ?? []
      const destination = direct.length === 0
        ? prepared.destination
        : { ...prepared.destination, hosts: [...direct, ...prepared.destination.hosts.filter(h => !direct.some(d => d.peer === h.peer))] }
      // Kept as sent before any delivery: a send that fails from here on is still in Sent (and the outbox).
      if (sentStore !== false) await sentStore.saveSent(prepared.payload.env, prepared.sealed.mail)
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
      // Leased before it is on disk: no other process tries this mail while this send does.
      const lease = await takeLease(directory, entry.id, leaseMs(destination.hosts.length, options.timeoutMs ?? DEFAULT_DELIVER_TIMEOUT_MS), clock)
      let outcome: { done: boolean, failures: DeliveryFailure[] }
      try {
        await save(entry) // before any delivery: a crash from here on loses nothing
        outcome = await attempt(entry, destination, lease, options)
      } finally {
        await lease?.release()
      }
      // A send is also the moment to retry what is due (mail left by an earlier run), with this
      // send's bound on each host; whatever happens there is that mail's business, not this send's.
      try {
        await retry({ signal: options.signal, timeoutMs: options.timeoutMs, except: entry.id })
      } catch (err) {
        log('retrying the rest of the outbox after a send failed: %s', (err as Error).message)
      }
      return { entry, delivered: outcome.done, failures: outcome.failures }
    },
    list,
    retry: async (options = {}) => (await retry(options)).delivered,
    retryReport: async (options = {}) => await retry(options)
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
