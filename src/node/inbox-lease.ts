/**
 * How the services that serve inboxes (/ipms/deliver, /ipms/sync) reach them (docs/ARCHITECTURE.md,
 * "Hosting"): by address, to a `ServedInbox` that says whose inbox it is and its difficulty
 * without opening it, and opens it (`lease`) only once a request has shown it deserves the work
 * (a valid stamp, an authorised peer). A lease keeps the inbox open until it is released: a host
 * closes idle inboxes (inbox-pool.ts), never one under an operation.
 */
import type { Inbox } from '../stores/inbox.ts'

/** An open inbox, kept open until `release()` (idempotent). */
export interface InboxLease {
  inbox: Inbox
  release: () => void
}

/** An inbox served here, known without opening it. */
export interface ServedInbox {
  address: string
  /** The owner's peer-id. */
  owner: string
  /** The difficulty every MAIL entry meets. */
  bits: number
  /** Open it (or take it open) for one operation; the caller releases the lease when done. */
  lease: (options?: { signal?: AbortSignal }) => Promise<InboxLease>
}

/** The inbox served at an address, or undefined when this node does not serve it (to this caller). */
export type InboxResolver = (address: string) => ServedInbox | undefined

/** An inbox that stays open for the node's life (the owner's own): leases cost nothing. */
export function alwaysOpen (inbox: Inbox): ServedInbox {
  const lease: InboxLease = { inbox, release: () => {} }
  return { address: inbox.address, owner: inbox.owner, bits: inbox.bits, lease: async () => lease }
}

/** A resolver over inboxes that stay open (a test's replica, a single-inbox host). */
export function servedFrom (inboxes: Iterable<Inbox> | Map<string, Inbox>): InboxResolver {
  const lookup = inboxes instanceof Map ? inboxes : new Map([...inboxes].map(i => [i.address, i]))
  return address => {
    const inbox = lookup.get(address)
    return inbox === undefined ? undefined : alwaysOpen(inbox)
  }
}
