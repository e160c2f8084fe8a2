/**
 * The inbox as a typed port (docs/ARCHITECTURE.md, stores; docs/PROTOCOL.md §9–§12): everything
 * that sync, delivery, the owner's read and hosting see of an inbox, in IPMS's own types.
 *
 * An inbox is an OrbitDB 4 log (so that any OrbitDB program can still open it), but nothing here
 * names OrbitDB or Helia: the adapter that knows their formats is `stores/orbitdb/` alone (its
 * `openInbox` returns this interface), and a test keeps every other module from importing them.
 *
 * Watch for: entries and blocks are the log's as stored, content-addressed by `hash` (a base58btc
 * CIDv1 dag-cbor string, as OrbitDB writes it); what they hold was checked by the inbox's rules
 * (PROTOCOL.md §9.3) when it came in, so readers may trust the shape of what `heads` and `get` give.
 */
import type { EventEmitter } from 'node:events'
import type { CID } from 'multiformats/cid'
import type { InboxPayload, MailPayload } from '../access/payloads.ts'
import type { EnvelopeBlock } from './envelope-block.ts'
import type { FirstEntry, PendingMail, PendingSummary } from './mailbox-index.ts'

export type { EnvelopeBlock, FirstEntry, PendingMail, PendingSummary }

/** An entry of an inbox log, as the rules admit it (PROTOCOL.md §9.3). */
export interface InboxEntry {
  /** The entry's block CID, base58btc. */
  hash: string
  /** The inbox address. */
  id: string
  payload: InboxPayload
  /** Hashes of the heads it was appended on. */
  next: string[]
  /** Hashes of older entries it references. */
  refs: string[]
  clock: { id: string, time: number }
  v: number
  /** The writer's public key (hex); `identity` equals it. */
  key: string
  identity: string
  /** The writer's signature of the entry (hex). */
  sig: string
}

/**
 * An entry received from a replica for a join: its block, and the block decoded with its `hash`.
 * Its shape was checked (entry-shape.ts) but nothing else: `unknown` where a peer chose the value.
 */
export interface JoinEntry {
  hash: string
  bytes: Uint8Array
  entry: Pick<InboxEntry, 'hash' | 'next' | 'refs'> & { payload: InboxPayload, clock: { time: number }, id: unknown, v: unknown, key: unknown, sig: unknown, identity?: unknown }
}

/** A head to join, and every entry it needs that the log lacks (itself included). */
export interface JoinHead {
  hash: string
  needed: JoinEntry[]
}

/** What a join did: heads joined, and heads refused with the reason. */
export interface JoinOutcome {
  joined: string[]
  refused: Array<{ hash: string, reason: string }>
}

/** A delivery as the inbox stored it: the envelope's first entry and when this replica first saw it. */
export interface Received extends FirstEntry {
  /** True when the envelope was here already (or arriving in another delivery): nothing was appended. */
  replay: boolean
}

/** A block of the inbox (entry or envelope) as sent to a replica. */
export interface InboxBlock {
  cid: CID
  bytes: Uint8Array
}

/** An open inbox: the log of one owner's mail and its index, on one replica. */
export interface Inbox {
  /** The inbox address (`/orbitdb/zdpu…`). */
  readonly address: string
  /** The owner's peer-id. */
  readonly owner: string
  /** The difficulty every MAIL entry meets. */
  readonly bits: number
  /**
   * `mail` (PendingMail) for every new mail, appended here or joined; `pruned` (envelope CID) once
   * its block is deleted; `expired` (envelope CID); `update` (InboxEntry) per appended entry and
   * per joined head; `synced` (a sync session's figures); `gc-error` (Error); `error`.
   */
  readonly events: EventEmitter

  // ── the log ───────────────────────────────────────────────────────────────────────────────
  /** The log's heads, newest first. */
  heads: () => Promise<InboxEntry[]>
  /** True when the entry is in the log (joined or appended here). */
  has: (hash: string) => Promise<boolean>
  /** An entry of the log, from the local store only; undefined when it is not here. */
  get: (hash: string) => Promise<InboxEntry | undefined>
  /**
   * The blocks a replica that has `theirs` lacks: every entry from this log's heads down to what it
   * has, then the envelope blocks of unpruned mail among them and of `want` (those held here).
   */
  blocksSince: (theirs: ReadonlySet<string>, want: readonly string[]) => AsyncIterable<InboxBlock>
  /** Join heads received from a replica with the entries each needs (checked, then written in batches); refusals are reported, not thrown. */
  joinHeads: (heads: JoinHead[]) => Promise<JoinOutcome>

  // ── appends ───────────────────────────────────────────────────────────────────────────────
  /** Append a MAIL entry whose envelope is already stored. */
  add: (payload: MailPayload) => Promise<string>
  /** Store the envelope and append its MAIL entry (grouped with concurrent appends); the entry hash once both are on disk. */
  addMail: (payload: MailPayload, envelope: EnvelopeBlock) => Promise<string>
  /**
   * A delivery, stored once per envelope: a replay (or a delivery racing one of the same envelope)
   * appends nothing and gets the envelope's first entry and when it was first seen here.
   */
  receive: (payload: MailPayload, envelope: EnvelopeBlock) => Promise<Received>
  /** Append owner-signed PRUNE entries for `entries`; their hashes. */
  prune: (entries: string[], ownerSeed: Uint8Array, ts?: number) => Promise<string[]>

  // ── the index ─────────────────────────────────────────────────────────────────────────────
  /** Unpruned mail, most recently seen first. */
  pending: () => Promise<PendingMail[]>
  /** Bytes of the pending mail's envelopes held here (mail without its envelope block costs nothing). */
  pendingBytes: () => Promise<number>
  /** The pending mail in figures (count, bytes held, oldest and newest first seen), without walking it. */
  summary: () => Promise<PendingSummary>
  /**
   * Envelopes of pending mail whose block this replica does not hold, from the index's record of
   * the blocks it stored (one walk and one read, not a blockstore read per mail). A block stored
   * and not yet recorded (a crash between the two) is listed: asked for again, harmless.
   */
  lackingEnvelopes: () => Promise<string[]>
  /** The first entry that carried `env` here (pending or pruned) and when it was first seen, if any. */
  firstEntry: (env: string) => Promise<FirstEntry | undefined>
  /** Host retention: drop pending mail this replica first saw before `before` (ms); returns the envelopes. */
  expireBefore: (before: number) => Promise<string[]>

  // ── envelopes ─────────────────────────────────────────────────────────────────────────────
  /** True when the envelope is carried by a MAIL entry of this inbox and not pruned. */
  wantsEnvelope: (env: string) => Promise<boolean>
  putEnvelope: (env: string, bytes: Uint8Array, options?: { signal?: AbortSignal }) => Promise<void>
  /** Store envelope blocks of this inbox's unpruned mail in one batch (others dropped; a wrong size refused). */
  putEnvelopes: (blocks: EnvelopeBlock[]) => Promise<{ stored: string[], refused: Array<{ env: string, reason: string }> }>
  getEnvelope: (env: string) => Promise<Uint8Array | undefined>
  hasEnvelope: (env: string) => Promise<boolean>

  /** Finish the writes under way and release the inbox (the node's stores stay open). */
  close: () => Promise<void>
}
