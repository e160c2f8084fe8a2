/**
 * Open an owner's inbox on a node: the `ipms-mailbox` database with the `ipms-inbox` controller,
 * at the address `inboxAddress(owner, bits)` gives (docs/PROTOCOL.md §9).
 *
 * Opened by name with the controller's parameters, so no block has to be fetched: every replica
 * builds the same manifest itself. OrbitDB's built-in Sync stays off (`sync: false`): replicas of
 * an inbox exchange entries over /ipms/sync instead (docs/DESIGN.md §1).
 */
import { DEFAULT_POW_BITS } from '../../constants.ts'
import { InboxAccessController } from './inbox-access-controller.ts'
import { useAccessController } from '@orbitdb/core'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { accessBlock, inboxAddress, inboxName, inboxParams, manifestBlock } from '../../access/inbox-address.ts'
import { blockWriter, type HeliaBlocks } from './block-writer.ts'
import { Mailbox, type MailboxDatabase } from './mailbox.ts'
import type { Log } from '@orbitdb/core'
import type { Inbox } from '../inbox.ts'

export type { Inbox }

/** OrbitDB, as far as opening an inbox needs it. */
export interface OrbitDBLike {
  open: (address: string, options: Record<string, unknown>) => Promise<unknown>
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
  }) as MailboxDatabase // what the Mailbox factory above returned
  if (db.address !== expected) {
    await db.close()
    throw new Error(`OrbitDB opened ${String(db.address)} for the inbox of ${params.owner}, expected ${expected}: the inbox address computation and OrbitDB disagree`)
  }
  // The port alone: nothing of OrbitDB's database (its log, its controller) goes past this folder.
  const inbox: Inbox = {
    address: db.address,
    owner: params.owner,
    bits: params.bits,
    events: db.events,
    heads: db.heads,
    has: db.has,
    get: db.get,
    blocksSince: db.blocksSince,
    joinHeads: db.joinHeads,
    add: db.add,
    addMail: db.addMail,
    receive: db.receive,
    prune: db.prune,
    pending: db.pending,
    pendingBytes: db.pendingBytes,
    firstEntry: db.firstEntry,
    expireBefore: db.expireBefore,
    wantsEnvelope: db.wantsEnvelope,
    putEnvelope: db.putEnvelope,
    putEnvelopes: db.putEnvelopes,
    getEnvelope: db.getEnvelope,
    hasEnvelope: db.hasEnvelope,
    close: db.close
  }
  logs.set(inbox, db.log)
  return inbox
}

/** OrbitDB's log of each inbox opened here. */
const logs = new WeakMap<Inbox, Log>()

/**
 * OrbitDB's own log of an inbox opened by `openInbox`, for tests that write into it or read it
 * as OrbitDB does (a hostile writer, a stock reader). IPMS itself goes through the port only.
 */
export function orbitLog (inbox: Inbox): Log {
  const log = logs.get(inbox)
  if (log === undefined) throw new Error(`${inbox.address} was not opened by openInbox`)
  return log
}
