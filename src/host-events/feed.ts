/**
 * A host's event feed per owner (docs/PROTOCOL.md §15.3): what happens to each inbox this host
 * keeps, as the owner's phone may learn it — `mail` (entry, envelope, size, arrival time here) and
 * `pruned` (envelopes dropped, read or expired). Never plaintext, never the sender: only what the
 * host itself sees of an inbox.
 *
 * Ids are `<run>-<n>`: `run` is new at every start of the host (its start time, base 36), `n` the
 * owner's own sequence on this host from 1 (per owner, so that an owner learns nothing of other
 * owners' traffic). The last KEPT_PER_OWNER events of an owner are kept in memory: a client that
 * resumes after id X gets each event after X exactly once, or one `reset` when some of them are no
 * longer kept, when X is from another run, or when it falls that far behind (then it reads its
 * inbox again: nothing is lost, the mail is still on the host).
 *
 * ```ts
 * const feed = createHostFeed()
 * const detach = feed.follow(hosting)
 * for await (const item of feed.subscribe(owner, { since: lastId, signal })) …
 * ```
 */
import type { EventEmitter } from 'node:events'
import type { Inbox } from '../stores/inbox.ts'
import type { PendingMail } from '../stores/mailbox-index.ts'

/** The data of each kind of event. */
export interface HostEventData {
  /** A mail stored in the owner's inbox here: its entry, envelope CID, size (bytes), when this host first saw it (ms). */
  mail: { entry: string, env: string, size: number, arrived: number }
  /** Envelopes dropped here: read by the owner (a PRUNE) or past the host's retention. */
  pruned: { envelopes: string[], reason: 'read' | 'expired' }
}
export type HostEventType = keyof HostEventData
export type HostEvent = { [K in HostEventType]: { id: string, type: K, data: HostEventData[K] } }[HostEventType]
/** Told instead of events no longer kept: read the inbox again, then go on after `last`. */
export interface HostFeedReset { reset: true, last: string }
export type HostFeedItem = HostEvent | HostFeedReset

/** Events kept per owner (a client that was away resumes within them). */
export const KEPT_PER_OWNER = 64
/** Owners whose events are kept at once; past it, the least recently active forget theirs. */
export const KEPT_OWNERS = 4096
/** Envelopes in one `pruned` event at most (a read of 10,000 mails gives several). */
export const PRUNED_PER_EVENT = 256

export interface HostFeedOptions {
  kept?: number
  owners?: number
  /** The run tag (tests); default the start time in base 36. */
  run?: string
}

export interface HostFeed {
  /** This run's tag: ids of another run always get a reset. */
  run: string
  emit: <K extends HostEventType>(owner: string, type: K, data: HostEventData[K]) => HostEvent
  /** The owner's id of the last event (`<run>-0` before any). */
  last: (owner: string) => string
  /**
   * The owner's events after `since` (kept ones first, exactly once; a reset when they are not all
   * kept), then live ones, until `signal` aborts or `close()`. Without `since`, live ones only.
   */
  subscribe: (owner: string, options?: { since?: string, signal?: AbortSignal }) => AsyncIterableIterator<HostFeedItem>
  /** Follow the inboxes of `hosting` as they are opened (they close and reopen on demand). Returns the undo. */
  follow: (hosting: { events: EventEmitter, opened: () => Inbox[] }) => () => void
  /** Live subscriptions now. */
  subscribers: () => number
  close: () => void
}

interface OwnerState {
  seq: number
  /** The highest sequence number no longer kept (0: all kept since the run started). */
  floor: number
  events: HostEvent[]
  listeners: Set<(event: HostEvent) => void>
}

/** `<run>-<n>` → n, if of this run; undefined otherwise. Never throws. */
function sequenceOf (id: string, run: string): number | undefined {
  const match = /^([0-9a-z]{1,16})-(\d{1,15})$/.exec(id)
  if (match === null || match[1] !== run) return undefined
  return Number(match[2])
}

export function createHostFeed (options: HostFeedOptions = {}): HostFeed {
  const kept = options.kept ?? KEPT_PER_OWNER
  const maxOwners = options.owners ?? KEPT_OWNERS
  const run = options.run ?? Date.now().toString(36)
  /** By owner, least recently active first (re-inserted at each event). */
  const owners = new Map<string, OwnerState>()
  /** Sequences of owners whose state was forgotten: kept so that ids never repeat within a run. */
  const forgotten = new Map<string, number>()
  let closed = false
  const closers = new Set<() => void>()
  const idOf = (seq: number): string => `${run}-${seq}`

  const stateOf = (owner: string): OwnerState => {
    let state = owners.get(owner)
    if (state === undefined) {
      const seq = forgotten.get(owner) ?? 0
      forgotten.delete(owner)
      state = { seq, floor: seq, events: [], listeners: new Set() }
      owners.set(owner, state)
      if (owners.size > maxOwners) {
        // Forget the kept events of the least recently active owner nobody listens to.
        for (const [other, s] of owners) {
          if (s.listeners.size > 0 || other === owner) continue
          owners.delete(other)
          forgotten.set(other, s.seq)
          break
        }
      }
    }
    return state
  }

  const emit: HostFeed['emit'] = (owner, type, data) => {
    const state = stateOf(owner)
    owners.delete(owner)
    owners.set(owner, state)
    const event = { id: idOf(++state.seq), type, data } as HostEvent
    state.events.push(event)
    if (state.events.length > kept) {
      state.events.shift()
      state.floor = state.seq - kept
    }
    for (const listener of state.listeners) listener(event)
    return event
  }

  const subscribe: HostFeed['subscribe'] = (owner, subscribeOptions = {}) => {
    const { signal } = subscribeOptions
    const state = stateOf(owner)
    const pending: HostFeedItem[] = []
    const reset = (): HostFeedReset => ({ reset: true, last: idOf(state.seq) })
    if (subscribeOptions.since !== undefined) {
      const since = sequenceOf(subscribeOptions.since, run)
      if (since === undefined || since > state.seq || since < state.floor) pending.push(reset())
      else pending.push(...state.events.filter(e => sequenceOf(e.id, run)! > since))
    }
    let wake: (() => void) | undefined
    let finished = false
    /** Set when the reader fell more than `kept` behind: the queue is replaced by one reset. */
    const listener = (event: HostEvent): void => {
      if (pending.length >= kept) {
        pending.length = 0
        pending.push(reset())
      } else {
        pending.push(event)
      }
      wake?.()
    }
    const end = (): void => {
      finished = true
      state.listeners.delete(listener)
      signal?.removeEventListener('abort', onAbort)
      closers.delete(onAbort)
      wake?.()
    }
    const onAbort = (): void => { end() }
    state.listeners.add(listener)
    closers.add(onAbort)
    signal?.addEventListener('abort', onAbort, { once: true })
    if (signal?.aborted === true || closed) end()
    const iterator: AsyncIterableIterator<HostFeedItem> = {
      next: async () => {
        for (;;) {
          if (finished) return { value: undefined, done: true }
          const first = pending.shift()
          if (first !== undefined) return { value: first, done: false }
          await new Promise<void>(resolve => { wake = resolve })
          wake = undefined
        }
      },
      return: async () => {
        end()
        return { value: undefined, done: true }
      },
      [Symbol.asyncIterator]: () => iterator
    }
    return iterator
  }

  const follow: HostFeed['follow'] = (hosting) => {
    const watch = (inbox: Inbox): void => {
      const owner = inbox.owner
      inbox.events.on('mail', (mail: PendingMail) => {
        emit(owner, 'mail', { entry: mail.hash, env: mail.env, size: mail.size, arrived: mail.seen })
      })
      // Envelopes dropped in one turn (a PRUNE of many, a retention pass) go out as one event.
      const batches: Record<'read' | 'expired', string[]> = { read: [], expired: [] }
      const dropped = (reason: 'read' | 'expired') => (env: string): void => {
        const batch = batches[reason]
        if (batch.push(env) > 1) return
        queueMicrotask(() => {
          // A microtask after the first: the synchronous emits of one turn are all in.
          setImmediate(() => {
            const envelopes = batch.splice(0)
            for (let i = 0; i < envelopes.length; i += PRUNED_PER_EVENT) emit(owner, 'pruned', { envelopes: envelopes.slice(i, i + PRUNED_PER_EVENT), reason })
          })
        })
      }
      inbox.events.on('pruned', dropped('read'))
      inbox.events.on('expired', dropped('expired'))
    }
    hosting.events.on('opened', watch)
    for (const inbox of hosting.opened()) watch(inbox)
    return () => { hosting.events.off('opened', watch) }
  }

  return {
    run,
    emit,
    last: owner => idOf(owners.get(owner)?.seq ?? forgotten.get(owner) ?? 0),
    subscribe,
    follow,
    subscribers: () => closers.size,
    close: () => {
      closed = true
      for (const close of [...closers]) close()
    }
  }
}
