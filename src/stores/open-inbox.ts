/**
 * Open an owner's inbox on a node: the `ipms-mailbox` database with the `ipms-inbox` controller,
 * at the address `inboxAddress(owner, bits)` gives (docs/PROTOCOL.md §9).
 *
 * Opened by name with the controller's parameters, so no block has to be fetched: every replica
 * builds the same manifest itself. OrbitDB's built-in Sync stays off (`sync: false`): replicas of
 * an inbox exchange entries over /ipms/sync instead (docs/DESIGN.md §1).
 */
import type { EventEmitter } from 'node:events'
import { DEFAULT_POW_BITS } from '../constants.ts'
import { InboxAccessController, type InboxAccessController as Controller } from '../access/inbox-access-controller.ts'
import { inboxAddress, inboxName, inboxParams } from '../access/inbox-address.ts'
import type { MailPayload } from '../access/payloads.ts'
import { Mailbox, type JoinHead, type JoinOutcome, type PendingMail, type Received } from './mailbox.ts'
import type { FirstEntry } from './mailbox-index.ts'
import type { EnvelopeBlock } from './envelope-block.ts'

/** An open inbox: the mailbox database of one owner. */
export interface Inbox {
  /** The inbox address (`/orbitdb/zdpu…`). */
  address: string
  /** The owner's peer-id. */
  owner: string
  /** The difficulty every MAIL entry meets. */
  bits: number
  access: Controller
  /** OrbitDB's log of the inbox (entries, heads, joinEntry). */
  log: any
  /** `mail` (PendingMail), `pruned` (envelope CID), `update` (entry), `gc-error` (Error), `error`. */
  events: EventEmitter
  /** Append a MAIL entry whose envelope is already stored. */
  add: (payload: MailPayload) => Promise<string>
  /** Store the envelope and append its MAIL entry (grouped with concurrent appends); the entry hash once both are in LevelDB. */
  addMail: (payload: MailPayload, envelope: EnvelopeBlock) => Promise<string>
  /**
   * A delivery, stored once per envelope: a replay (or a delivery racing one of the same envelope)
   * appends nothing and gets the envelope's first entry and when it was first seen here.
   */
  receive: (payload: MailPayload, envelope: EnvelopeBlock) => Promise<Received>
  /** The first entry that carried `env` here (pending or pruned) and when it was first seen, if any. */
  firstEntry: (env: string) => Promise<FirstEntry | undefined>
  prune: (entries: string[], ownerSeed: Uint8Array, ts?: number) => Promise<string[]>
  pending: () => Promise<PendingMail[]>
  /** Bytes of the pending mail's envelopes held here (mail without its envelope block costs nothing). */
  pendingBytes: () => Promise<number>
  /** Join heads received from a replica with the entries each needs (checked, then written in batches); refusals are reported, not thrown. */
  joinHeads: (heads: JoinHead[]) => Promise<JoinOutcome>
  /** Host retention: drop pending mail this replica first saw before `before` (ms); returns the envelopes. */
  expireBefore: (before: number) => Promise<string[]>
  /** True when the envelope is carried by a MAIL entry of this inbox and not pruned. */
  wantsEnvelope: (env: string) => Promise<boolean>
  putEnvelope: (env: string, bytes: Uint8Array, options?: { signal?: AbortSignal }) => Promise<void>
  /** Store envelope blocks of this inbox's unpruned mail in one batch (others dropped; a wrong size refused). */
  putEnvelopes: (blocks: EnvelopeBlock[]) => Promise<{ stored: string[], refused: Array<{ env: string, reason: string }> }>
  getEnvelope: (env: string) => Promise<Uint8Array | undefined>
  hasEnvelope: (env: string) => Promise<boolean>
  close: () => Promise<void>
}

/** OrbitDB, as far as opening an inbox needs it. */
export interface OrbitDBLike {
  open: (address: string, options: Record<string, unknown>) => Promise<any>
}

/** Open (creating it locally if needed) the inbox of `owner` at difficulty `bits`. */
export async function openInbox (orbitdb: OrbitDBLike, owner: string, bits: number = DEFAULT_POW_BITS): Promise<Inbox> {
  const params = inboxParams(owner, bits)
  const db = await orbitdb.open(inboxName(params.owner), {
    type: Mailbox.type,
    AccessController: InboxAccessController({ owner: params.owner, bits: params.bits }),
    Database: Mailbox(),
    sync: false
  })
  const expected = inboxAddress(params.owner, params.bits)
  if (db.address !== expected) {
    await db.close()
    throw new Error(`OrbitDB opened ${String(db.address)} for the inbox of ${params.owner}, expected ${expected}: the inbox address computation and OrbitDB disagree`)
  }
  return Object.assign(db, { owner: params.owner, bits: params.bits }) as Inbox
}
