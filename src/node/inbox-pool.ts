/**
 * The hosted inboxes open at one time (issue #13; docs/ARCHITECTURE.md, "Hosting"). An inbox is
 * opened when an operation leases it (a delivery, a sync, a retention pass, `ipms host list`) and
 * stays open while leased; of the idle ones, at most `max` stay open, the least recently used
 * closed first. So a host with 10,000 grants opens only the inboxes in use, and one used again soon
 * costs no reopening.
 *
 * Watch for: an inbox in use is never closed under its operation; the bound is exceeded for as long
 * as more than `max` are leased at once. Opening and closing one address never overlap (OrbitDB
 * hands back a database still closing if it is opened again by the same address), and concurrent
 * leases of a closed inbox share one opening.
 */
import type { Inbox } from '../stores/inbox.ts'
import type { InboxLease } from './inbox-lease.ts'

/** Idle hosted inboxes kept open by default. */
export const DEFAULT_OPEN_INBOXES = 256

export interface InboxPoolOptions {
  /** Stop serving `inbox` and close it. Failures are given to `onError`; the inbox is forgotten. */
  close: (inbox: Inbox) => Promise<void>
  /** Idle inboxes kept open at most. Default DEFAULT_OPEN_INBOXES. */
  max?: number
  /** A close that failed (logged by the caller; never thrown at a lease). */
  onError?: (err: unknown, address: string) => void
}

interface Slot {
  opening: Promise<Inbox>
  inbox?: Inbox
  /** Leases not yet released. */
  leases: number
  /** Close as soon as it is idle (its grant is gone). */
  drop: boolean
  /** Called once it is closed (`closed()`). */
  onClosed?: Array<() => void>
}

export function createInboxPool (options: InboxPoolOptions) {
  const max = Math.max(0, options.max ?? DEFAULT_OPEN_INBOXES)
  /** Open (or opening) inboxes by address, least recently used first (Map order). */
  const slots = new Map<string, Slot>()
  /** Closings under way, by address: an opening of the same address waits for its closing. */
  const closings = new Map<string, Promise<void>>()
  /** Set by closeAll: the node is stopping, nothing opens any more. */
  let closed = false

  const close = (address: string, slot: Slot): void => {
    slots.delete(address)
    const closing = (async () => {
      const inbox = slot.inbox ?? await slot.opening.catch(() => undefined)
      if (inbox !== undefined) await options.close(inbox)
    })().catch(err => { options.onError?.(err, address) }).finally(() => {
      if (closings.get(address) === closing) closings.delete(address)
      for (const done of slot.onClosed ?? []) done()
    })
    closings.set(address, closing)
  }

  /** Close idle inboxes, oldest first, until at most `max` are open (leased ones do not count against idle ones). */
  const trim = (): void => {
    let over = slots.size - max
    for (const [address, slot] of slots) {
      if (slot.leases > 0 || slot.inbox === undefined) continue
      if (slot.drop) { close(address, slot); over--; continue }
      if (over <= 0) continue
      close(address, slot)
      over--
    }
  }

  /**
   * The inbox at `address`, opened with `open` (which also starts serving it: registers it with
   * the sync service) unless it is open already; kept open until the lease is released.
   */
  const lease = async (address: string, open: () => Promise<Inbox>, leaseOptions: { signal?: AbortSignal } = {}): Promise<InboxLease> => {
    leaseOptions.signal?.throwIfAborted()
    if (closed) throw new Error('this node is stopping: its hosted inboxes are closed')
    let slot = slots.get(address)
    if (slot === undefined) {
      const closing = closings.get(address)
      const opened: Slot = { leases: 0, drop: false, opening: Promise.resolve(undefined as unknown as Inbox) }
      opened.opening = (async () => {
        if (closing !== undefined) await closing
        const inbox = await open()
        opened.inbox = inbox
        return inbox
      })()
      // A failed opening is forgotten, so the next lease tries again.
      opened.opening.catch(() => { if (slots.get(address) === opened) slots.delete(address) })
      slot = opened
    } else {
      slot.drop = false // served again (a grant back before its inbox was closed)
      slots.delete(address) // most recently used: to the end of the order
    }
    slots.set(address, slot)
    slot.leases++
    const held = slot
    let inbox: Inbox
    try {
      inbox = await held.opening
    } catch (err) {
      held.leases--
      throw err
    }
    let released = false
    return {
      inbox,
      release: () => {
        if (released) return
        released = true
        held.leases--
        if (held.leases === 0) trim()
      }
    }
  }

  return {
    lease,
    /** Close `address` once no operation uses it (its grant is gone); a later lease opens it again. */
    drop: (address: string): void => {
      const slot = slots.get(address)
      if (slot === undefined) return
      slot.drop = true
      trim()
    },
    /**
     * Resolves once the inbox at `address` is closed: at once when it is not open; else after its
     * operations end and its closing is done (call `drop` first, so that it closes when idle).
     */
    closed: async (address: string): Promise<void> => {
      const slot = slots.get(address)
      if (slot !== undefined) await new Promise<void>(resolve => { (slot.onClosed ??= []).push(resolve) })
      await closings.get(address)
    },
    /** The inboxes open now (opened and not closing). */
    opened: (): Inbox[] => [...slots.values()].flatMap(s => s.inbox === undefined ? [] : [s.inbox]),
    /** True when the inbox at `address` is open or opening (not closing). */
    isOpen: (address: string): boolean => slots.has(address),
    /** How many inboxes are open or opening. */
    size: (): number => slots.size,
    /** True while the inbox at `address` is leased by an operation. */
    inUse: (address: string): boolean => (slots.get(address)?.leases ?? 0) > 0,
    /** Close every inbox (at stop: operations still running lose theirs; later leases fail) and wait for every closing. */
    closeAll: async (): Promise<void> => {
      closed = true
      for (const [address, slot] of [...slots]) close(address, slot)
      await Promise.all([...closings.values()])
    }
  }
}

export type InboxPool = ReturnType<typeof createInboxPool>
