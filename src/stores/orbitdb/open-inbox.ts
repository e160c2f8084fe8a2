/**
 * Open an owner's inbox on a node: the `ipms-mailbox` log with the `ipms-inbox` controller, at the
 * address `inboxAddress(owner, bits)` gives (docs/PROTOCOL.md §9), as the port (stores/inbox.ts).
 *
 * The address is computed offline, so no block has to be fetched: every replica builds the same
 * manifest itself. OrbitDB's built-in Sync is never started: replicas of an inbox exchange entries
 * over /ipms/sync instead (docs/DESIGN.md §1).
 */
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { useAccessController, type Log, type OrbitDBIdentity } from '@orbitdb/core'
import { DEFAULT_POW_BITS } from '../../constants.ts'
import { accessAddress, accessBlock, inboxParams, manifestBlock, type InboxParams } from '../../access/inbox-address.ts'
import type { Inbox } from '../inbox.ts'
import type { HeliaBlocks } from './block-writer.ts'
import { InboxAccessController, inboxController } from './inbox-access-controller.ts'
import { openMailbox, type MailboxInstance } from './mailbox.ts'

export type { Inbox }

/** OrbitDB, as far as opening an inbox needs it: its Helia, its identity (which signs entries), its directory. */
export interface OrbitDBLike {
  ipfs: HeliaBlocks
  identity: OrbitDBIdentity
  /** Where a Helia that createNode did not make keeps each inbox's records (`<directory>/<address>/_inbox`). */
  directory?: string
}

/** An inbox open on a node. */
interface OpenInbox {
  opening: Promise<Inbox>
}

/** The inboxes open on each node (by its Helia): one instance per address, as OrbitDB's `open` gives. */
const openOn = new WeakMap<object, Map<string, OpenInbox>>()
/** Inboxes whose manifest and controller blocks were given to a mailbox on each node (by its Helia). */
const blocksOn = new WeakMap<object, Set<string>>()

/**
 * Open (creating it locally if needed) the inbox of `owner` at difficulty `bits`; an inbox open
 * here already is given again (one instance per address: one writer of its heads).
 *
 * Its manifest and access-controller blocks are the same on every replica (computed from the
 * owner and the difficulty, access/inbox-address.ts): they go into the block batch of the log's
 * first write here, blind (the same bytes, each pinned by itself: block-writer.ts), so that any
 * OrbitDB program opens by its address an inbox that has entries (a test keeps them the blocks
 * OrbitDB itself writes). Opening reads no block and writes nothing.
 * The mailbox is then built over OrbitDB's `Log` with the controller made from the parameters,
 * without OrbitDB's `Database` (its manifest and controller reads, Sync and queue cost a host
 * most of a first opening, and a host opens inboxes on demand, one per delivery).
 */
export async function openInbox (orbitdb: OrbitDBLike, owner: string, bits: number = DEFAULT_POW_BITS): Promise<Inbox> {
  return await openInboxOf(orbitdb, inboxParams(owner, bits))
}

/**
 * `openInbox` for parameters already checked (`inboxParams`, or a verified grant's owner: the
 * canonical peer-id of a valid key), which spares a host the peer-id's full check (a curve point
 * decoding) at every opening.
 */
export async function openInboxOf (orbitdb: OrbitDBLike, params: InboxParams): Promise<Inbox> {
  // Each block hashed once (inboxAddress would hash both again, the controller its own again).
  const access = accessBlock(params)
  const manifest = manifestBlock(params, access)
  const address = `/orbitdb/${manifest.hash}`
  const helia = orbitdb.ipfs
  let open = openOn.get(helia)
  if (open === undefined) openOn.set(helia, open = new Map())
  const known = open.get(address)
  if (known !== undefined) return await known.opening
  const slot: OpenInbox = { opening: Promise.resolve(undefined as unknown as Inbox) }
  slot.opening = (async () => {
    // Written with the log's first write here (appended or joined entries, envelopes): an inbox
    // only opened (a delivery refused, a sync with nothing new) writes nothing. Once per process.
    let written = blocksOn.get(helia)
    if (written === undefined) blocksOn.set(helia, written = new Set())
    const withFirstWrite = written.has(address) ? [] : [access, manifest].map(b => ({ cid: CID.parse(b.hash, base58btc), bytes: b.bytes, pin: 'all' as const }))
    const firstWritten = (): void => { written.add(address) }
    // An OrbitDB program of this process that opens the inbox by address finds its controller by type.
    useAccessController(InboxAccessController)
    const controller = inboxController(params, accessAddress(params, access), address)
    const mailbox = await openMailbox({ ipfs: helia, address, directory: orbitdb.directory, identity: orbitdb.identity, access: controller, withFirstWrite, firstWritten })
    let closing: Promise<void> | undefined
    return toPort(mailbox, params.owner, params.bits, address, async () => {
      closing ??= (async () => {
        if (open.get(address) === slot) open.delete(address)
        await mailbox.close()
      })()
      await closing
    })
  })()
  open.set(address, slot)
  try {
    return await slot.opening
  } catch (err) {
    open.delete(address)
    throw err
  }
}

/** The port alone: nothing of OrbitDB's log goes past this folder (but to tests, `orbitLog`). */
function toPort (db: MailboxInstance, owner: string, bits: number, address: string, close: () => Promise<void>): Inbox {
  const inbox: Inbox = {
    address,
    owner,
    bits,
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
    summary: db.summary,
    lackingEnvelopes: db.lackingEnvelopes,
    firstEntry: db.firstEntry,
    expireBefore: db.expireBefore,
    wantsEnvelope: db.wantsEnvelope,
    putEnvelope: db.putEnvelope,
    putEnvelopes: db.putEnvelopes,
    getEnvelope: db.getEnvelope,
    hasEnvelope: db.hasEnvelope,
    close
  }
  logs.set(inbox, db.log)
  return inbox
}

/** Close every inbox open on the node of `helia` (its stop: appends under way end first). */
export async function closeInboxes (helia: object): Promise<void> {
  const open = openOn.get(helia)
  if (open === undefined) return
  await Promise.all([...open.values()].map(async slot => {
    const inbox = await slot.opening.catch(() => undefined)
    await inbox?.close()
  }))
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
