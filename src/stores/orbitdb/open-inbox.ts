/**
 * Open an owner's inbox on a node: the `ipms-mailbox` database with the `ipms-inbox` controller,
 * at the address `inboxAddress(owner, bits)` gives (docs/PROTOCOL.md §9).
 *
 * Opened by name with the controller's parameters, so no block has to be fetched: every replica
 * builds the same manifest itself. OrbitDB's built-in Sync stays off (`sync: false`): replicas of
 * an inbox exchange entries over /ipms/sync instead (docs/DESIGN.md §1).
 */
import type { EventEmitter } from 'node:events'
import { DEFAULT_POW_BITS } from '../../constants.ts'
import { InboxAccessController, type InboxAccessController as Controller } from './inbox-access-controller.ts'
import { useAccessController } from '@orbitdb/core'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { accessBlock, inboxAddress, inboxName, inboxParams, manifestBlock } from '../../access/inbox-address.ts'
import { blockWriter, type HeliaBlocks } from './block-writer.ts'
import type { MailPayload } from '../../access/payloads.ts'
import { Mailbox, type JoinHead, type JoinOutcome, type PendingMail, type Received } from './mailbox.ts'
import type { FirstEntry } from '../mailbox-index.ts'
import type { EnvelopeBlock } from '../envelope-block.ts'

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
  /** Its Helia: the inbox's manifest and controller blocks are written through it (without, OrbitDB writes them). */
  ipfs?: HeliaBlocks & { blockstore: { has: (cid: CID) => Promise<boolean> | boolean } }
}

/**
 * Open (creating it locally if needed) the inbox of `owner` at difficulty `bits`.
 *
 * Its manifest and access-controller blocks are the same on every replica (computed from the
 * owner and the difficulty, access/inbox-address.ts): they are written here once, with the node's
 * batched block writer (not synced: they can be made again at any time), and the database is then
 * opened by its address, so that OrbitDB reads them instead of writing and pinning them one at a
 * time (1.7 of the 2.7 ms a first opening took; a host opens inboxes on demand). A test keeps
 * these blocks and the ones OrbitDB writes itself when opening by name identical.
 */
export async function openInbox (orbitdb: OrbitDBLike, owner: string, bits: number = DEFAULT_POW_BITS): Promise<Inbox> {
  const params = inboxParams(owner, bits)
  const expected = inboxAddress(params.owner, params.bits)
  const helia = orbitdb.ipfs
  if (helia !== undefined) {
    const blocks = [accessBlock(params), manifestBlock(params)].map(b => ({ cid: CID.parse(b.hash, base58btc), bytes: b.bytes, pin: 'all' as const }))
    if (!await helia.blockstore.has(blocks[1]!.cid)) await blockWriter(helia).write(blocks, { durable: false })
    // Opened by address, OrbitDB finds the controller by its type (registration is idempotent).
    useAccessController(InboxAccessController)
  }
  const db = await orbitdb.open(helia !== undefined ? expected : inboxName(params.owner), {
    type: Mailbox.type,
    AccessController: InboxAccessController({ owner: params.owner, bits: params.bits }),
    Database: Mailbox(),
    sync: false
  })
  if (db.address !== expected) {
    await db.close()
    throw new Error(`OrbitDB opened ${String(db.address)} for the inbox of ${params.owner}, expected ${expected}: the inbox address computation and OrbitDB disagree`)
  }
  return Object.assign(db, { owner: params.owner, bits: params.bits }) as Inbox
}
