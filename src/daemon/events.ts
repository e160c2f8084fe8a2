/**
 * The daemon's events (docs/ARCHITECTURE.md, "The daemon"): one typed union of what a running node
 * reports, each with an `id` that grows by one per event within a daemon's life and the `time` it
 * happened; the last N kept in memory, so that a reader that was away (a client of the coming
 * local API, with Server-Sent Events' Last-Event-ID) gets exactly what it missed, or learns that
 * it missed more than is kept.
 *
 * ```ts
 * for await (const event of daemon.events.subscribe({ since: 0, signal })) {
 *   if ('reset' in event) resync()            // events were lost: read the state again
 *   else if (event.type === 'mail') notify(event.data.from)
 * }
 * ```
 *
 * Watch out for: ids start at 1 at every start of a daemon. An id from an earlier run (higher
 * than the last one given) is answered with a reset, like an id older than what is kept: in both
 * cases the reader cannot know what it missed.
 */

/** The data of each kind of event (the fields `ipms daemon --json` prints beside `time` and `event`). */
export interface DaemonEventData {
  /** The node is up: who it is, where it listens, whose inboxes it keeps. */
  started: { peerId: string, inbox: string, addrs: string[], hosted: string[] }
  /** A grant file that could not be served at start (expired, damaged). */
  'grant-skipped': { file: string, reason: string }
  'bootstrap-failed': { address: string, error: string }
  /** The disk is full: deliveries are refused until space returns. */
  'storage-full': { code: 'ERR_STORAGE_FULL', message: string }
  'storage-recovered': Record<string, never>
  /** A mail for the owner, opened and stored. `id` is its short id (`ipms read ID`). */
  mail: { id: string, entry: string, from: string, name?: string }
  /** A received mail marked read here (`ipms read`), so that other devices and clients can follow. */
  seen: { id: string, entry: string }
  /** A received mail deleted here (`ipms rm`). */
  deleted: { id: string, entry: string }
  /** An envelope that did not open, kept in quarantine. */
  quarantined: { id: string, code: string }
  /** A mail stored in an inbox kept for a friend. */
  'hosted-mail': { owner: string }
  /** Mail read by a friend dropped from the inbox kept for them. */
  'hosted-pruned': { owner: string, count: number }
  /** A new friend's inbox kept from now on. */
  hosting: { owner: string, inbox: string }
  /** A friend's inbox no longer kept, dropped with its blocks (`ipms host rm`). */
  'host-dropped': { owner: string, inbox: string, entries: number, envelopes: number }
  published: { owner: string, ts: number, peers: number }
  'publish-failed': { owner: string, message: string }
  'co-host-failed': { inbox: string, host: string, ok: boolean, error?: string }
  /** A mail of the outbox delivered (its envelope CID, the hosts that signed receipts). */
  sent: { id: string, receipts: string[] }
  /** A mail sent through the daemon that waits in the outbox for its receipts. */
  outbox: { id: string, to: string, receipts: number, replicas: number, lastError?: string }
  /** A waiting mail given up (`ipms outbox rm`). */
  'outbox-cancelled': { id: string }
  /** A mail the outbox stops trying (too old, or refused for good by every host it still needs), with why; still listed. */
  'outbox-gave-up': { id: string, to: string, reason: string }
  retention: { dropped: number }
  /** A background step (or an `--on-mail` hook) failed; the daemon goes on. */
  error: { step: string, code?: string, message: string }
  stopping: Record<string, never>
  stopped: Record<string, never>
}

export type DaemonEventType = keyof DaemonEventData

/** One event: its id (1, 2, … within a daemon's life), time (ms since the epoch), type and data. */
export type DaemonEvent = { [K in DaemonEventType]: { id: number, time: number, type: K, data: DaemonEventData[K] } }[DaemonEventType]

/** Told instead of events that are no longer kept: the reader missed some and must read the state again. */
export interface EventsReset { reset: true, /** The last id given so far. */ last: number }

/** How many events are kept by default. */
export const DEFAULT_EVENTS_KEPT = 1000

export interface SubscribeOptions {
  /** Replay what followed this id first (0: everything kept). Default: only what comes next. */
  since?: number
  /** Ends the iteration (quietly). */
  signal?: AbortSignal
}

/** The reading side of the log (what the daemon hands out). */
export interface DaemonEvents {
  /** The id of the last event (0 before the first). */
  last: () => number
  /** The events that followed `id`, oldest first; a reset when some of them are no longer kept. */
  since: (id: number) => DaemonEvent[] | EventsReset
  /**
   * The events from now on (after a replay of what followed `since`), until the daemon stops or
   * `signal` aborts. A reader that falls more than the log's size behind gets a reset, then the
   * events from there on.
   */
  subscribe: (options?: SubscribeOptions) => AsyncIterableIterator<DaemonEvent | EventsReset>
}

export interface EventLog extends DaemonEvents {
  emit: <K extends DaemonEventType>(type: K, data: DaemonEventData[K]) => DaemonEvent
  /** No more events: subscriptions end once they have given what they hold. */
  close: () => void
}

export function createEventLog (options: { kept?: number, now?: () => number } = {}): EventLog {
  const kept = options.kept ?? DEFAULT_EVENTS_KEPT
  const now = options.now ?? Date.now
  /** A ring: the event with id n is at (n - 1) % kept while kept. */
  const ring: DaemonEvent[] = []
  let last = 0
  let closed = false
  const listeners = new Set<() => void>()

  const since = (id: number): DaemonEvent[] | EventsReset => {
    const oldest = Math.max(1, last - kept + 1)
    if (!Number.isSafeInteger(id) || id < oldest - 1 || id > last) return { reset: true, last }
    const events: DaemonEvent[] = []
    for (let n = id + 1; n <= last; n++) events.push(ring[(n - 1) % kept]!)
    return events
  }

  const subscribe = (subscribeOptions: SubscribeOptions = {}): AsyncIterableIterator<DaemonEvent | EventsReset> => {
    const { signal } = subscribeOptions
    // Where this reader stands; everything after it is read from the ring, so that a slow reader
    // costs no memory of its own.
    let position = last
    const pending: Array<DaemonEvent | EventsReset> = []
    if (subscribeOptions.since !== undefined) {
      const replay = since(subscribeOptions.since)
      if (Array.isArray(replay)) position = subscribeOptions.since
      else pending.push(replay)
    }
    let wake: (() => void) | undefined
    let finished = false
    const onEvent = (): void => { wake?.() }
    const onAbort = (): void => { wake?.() }
    listeners.add(onEvent)
    signal?.addEventListener('abort', onAbort, { once: true })
    const end = (): void => {
      listeners.delete(onEvent)
      signal?.removeEventListener('abort', onAbort)
    }
    const next = async (): Promise<IteratorResult<DaemonEvent | EventsReset>> => {
      for (;;) {
        if (signal?.aborted === true || finished) break
        const first = pending.shift()
        if (first !== undefined) return { value: first, done: false }
        if (position < last) {
          if (position < last - kept) {
            // Fell behind by more than is kept: the reader learns it, and goes on from now.
            position = last
            return { value: { reset: true, last }, done: false }
          }
          position++
          return { value: ring[(position - 1) % kept]!, done: false }
        }
        if (closed || finished) break
        await new Promise<void>(resolve => { wake = resolve })
        wake = undefined
      }
      end()
      return { value: undefined, done: true }
    }
    const iterator: AsyncIterableIterator<DaemonEvent | EventsReset> = {
      next,
      return: async () => {
        end()
        finished = true
        wake?.()
        return { value: undefined, done: true }
      },
      [Symbol.asyncIterator]: () => iterator
    }
    return iterator
  }

  return {
    last: () => last,
    since,
    subscribe,
    emit: (type, data) => {
      const event = { id: ++last, time: now(), type, data } as DaemonEvent
      ring[(event.id - 1) % kept] = event
      for (const listener of listeners) listener()
      return event
    },
    close: () => {
      closed = true
      for (const listener of listeners) listener()
    }
  }
}
