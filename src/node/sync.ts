/**
 * `/ipms/sync/1.0.0`: replication between the replicas of one inbox (docs/PROTOCOL.md §10), in
 * place of OrbitDB's built-in Sync (docs/DESIGN.md §1: unframed, unacknowledged, open to anyone, and one
 * bitswap round trip per missing entry).
 *
 *   initiator                                         responder
 *   hello { inbox, heads, have, want, grant? } ─────▶ refused { code, reason }   (not open / not allowed)
 *                                       ◀───────────── blocks { blocks: [{ c: cid, b: bytes }] }
 *   ack ─────────────────────────────────────────────▶   (one blocks frame in flight at a time)
 *                                       ◀───────────── end   { heads, have, want }
 *   blocks ─────────────────────────────────────────▶ ◀─ ack …
 *   done ───────────────────────────────────────────▶
 *
 * Each side joins what it received after the exchange (the initiator after `done`, the responder
 * once it read it), outside the session's deadline: a long join never holds the other side's
 * session open until its deadline cuts it.
 *
 * Each side sends, in one batch, every entry block reachable from its heads that the other does
 * not have (the walk stops at the other side's heads and at `have`, the entries its heads point
 * to), the envelope blocks of those entries' unpruned mail, and the envelopes the other asked for
 * (`want`: pending mail whose block it lacks). The receiver checks every block against its CID,
 * and hands each head with the entries it needs to the inbox (`joinHeads`), which checks every
 * entry as OrbitDB's `joinEntry` would (signature, `canAppend`) and writes the joined ones in
 * batches, not one by one (docs/ARCHITECTURE.md, "Joining a sync session"). Envelopes are kept
 * only when an entry of the log carries them, they are not pruned, and they are the size that
 * mail's entry states; they are stored in one batch too.
 *
 * New heads are pushed: after a local append or a join, every connected replica this node has
 * synced the inbox with gets a sync, coalesced per peer.
 *
 * Watch for: every message is length-prefixed and capped before it is decoded, and decoded strictly
 * within SYNC_FRAME_LIMITS; the hello, read before the peer is authorised, is capped lower still
 * (MAX_SYNC_HELLO_BYTES) and budgeted per address. A peer that sends garbage, an oversize frame or
 * a block that does not match its CID ends its own session, and nothing it sent is joined. Before a
 * join, the receiver refuses blocks that are not canonical dag-cbor, entries of a shape the rules
 * refuse, and clocks that are not the parents' highest + 1 (PROTOCOL §9.3, §10), so that a replica
 * never holds an entry its own code cannot process.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { peerIdFromString } from '@libp2p/peer-id'
import { logger } from '@libp2p/logger'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { FORMAT_VERSION, MAX_ENVELOPE_BYTES } from '../constants.ts'
import { IpmsError, SyncError, SyncRefusedError } from '../errors.ts'
import type { Inbox, JoinEntry, JoinHead } from '../stores/inbox.ts'
import { envelopeBlock } from '../stores/envelope-block.ts'
import { isEntryHash, parseEnvelopeCid } from '../access/payloads.ts'
import { clockProblem, entryShapeProblem, entryTime } from '../access/entry-shape.ts'
import { decodeCbor, encodeCbor, equalBytes, refuseBadHead, type CborLimits } from '../crypto/codec.ts'
import { isBytes, isPlainMap } from '../util/fields.ts'
import { verifyGrant, type Grant } from '../hosting/grant.ts'
import { frames, type Frames } from './frames.ts'
import { servedFrom, type InboxLease, type InboxResolver } from './inbox-lease.ts'
import { createFrameBudget } from './host-policy.ts'
import { concurrencyLimit } from '../util/concurrency-limit.ts'

export const SYNC_PROTOCOL = '/ipms/sync/1.0.0'
/** Largest frame: one maximum envelope with room for its framing. */
export const MAX_SYNC_FRAME_BYTES = MAX_ENVELOPE_BYTES + 64 * 1024
/** A blocks frame is closed once it holds this many bytes. */
const BATCH_BYTES = 1024 * 1024
/** Hashes in `heads`, `have` or `want` of one message. */
export const MAX_SYNC_LIST = 4096
/** Default longest wait for a session's next frame (either way), ms. */
export const DEFAULT_SYNC_TIMEOUT_MS = 30_000
/** Longest a whole session may last, ms, however steadily its frames move. */
export const MAX_SYNC_SESSION_MS = 10 * 60_000
/** Default gathering delay of a push, ms: short against mail latency, long against a burst. */
export const DEFAULT_PUSH_DELAY_MS = 10

/**
 * Largest hello, the one frame read from a peer before it is authorised: three lists of
 * MAX_SYNC_LIST hashes (about 700 KB) and a grant.
 */
export const MAX_SYNC_HELLO_BYTES = 1024 * 1024
/** Blocks in one blocks frame at most, so that a frame stays within SYNC_FRAME_LIMITS. */
const MAX_FRAME_BLOCKS = 8192
/**
 * Bounds on a frame's structure: a blocks frame of MAX_FRAME_BLOCKS blocks ({ c, b }: 5 items
 * each) at depth 3, or a hello of three full lists; anything bigger is refused from its headers.
 */
export const SYNC_FRAME_LIMITS: Readonly<CborLimits> = Object.freeze({ maxItems: 65_536, maxDepth: 3 })

/** Bytes of entries plus envelopes one session may hold in memory before it is refused. */
export const MAX_SYNC_SESSION_BYTES = 256 * 1024 * 1024

const log = logger('ipms:sync')


/**
 * Decides whether `peer` may sync `inbox` with this node; `grant` is what the peer presented in its
 * hello (dag-cbor bytes of a host grant), if anything. Default: `ownerOrGrantee`.
 */
export type SyncAuthorizer = (peer: string, inbox: { address: string, owner: string }, grant?: Uint8Array) => boolean | Promise<boolean>

/**
 * The default rule (issue #4, "only authorized replicas"): the inbox's owner, or a host presenting
 * an unexpired grant from that owner naming itself. Everyone else gets the same refusal as for an
 * inbox that is not here.
 */
export function ownerOrGrantee (peer: string, inbox: { owner: string }, grant?: Uint8Array): boolean {
  if (peer === inbox.owner) return true
  if (grant === undefined) return false
  try {
    return verifyGrant(grant, { host: peer }).owner === inbox.owner
  } catch {
    return false
  }
}

export interface InboxSyncOptions {
  libp2p: Libp2p
  authorize?: SyncAuthorizer
  /** This node's grant for an inbox it hosts, presented when it starts a sync of that inbox. */
  grantFor?: (inbox: Inbox) => Grant | undefined
  /**
   * The inboxes served to peers, opened only for an authorised session (a host's inboxes opened
   * on demand, hosting.ts). Default: the registered inboxes, which stay open.
   */
  inboxFor?: InboxResolver
  /** Longest wait for a session's next frame, either way, ms (the session ends then). Default 30 000. */
  timeoutMs?: number
  /** How long a push waits for more updates to gather before it syncs, ms. Default 10. */
  pushDelayMs?: number
}

/** What one exchange did, from this side. */
export interface SyncResult {
  /** Entries joined from the other side. */
  joined: number
  /** Entries of the other side that the rules refused. */
  refused: number
  /** Envelope blocks kept. */
  envelopes: number
  /** Blocks sent. */
  sent: number
}

interface Message {
  v: number
  t: string
  inbox?: string
  heads?: string[]
  have?: string[]
  want?: string[]
  blocks?: Array<{ c: Uint8Array, b: Uint8Array }>
  code?: string
  reason?: string
  grant?: Uint8Array
}

/** An entry block received in a session, of a checked shape (entry-shape.ts). */
type EntryBlock = JoinEntry

/** What one side received in a session: entries of a checked shape, envelopes, and refused blocks (hash → why). */
interface Received {
  end: Message
  entries: Map<string, EntryBlock>
  envelopes: Map<string, Uint8Array>
  bad: Map<string, string>
}

/** True when `bytes` are the one dag-cbor encoding of `value` (what it decoded to). Never throws. */
function isCanonical (value: unknown, bytes: Uint8Array): boolean {
  try {
    return equalBytes(dagCbor.encode(value), bytes)
  } catch {
    return false
  }
}

/** A peer's list of entry hashes (`heads`, `have`), checked; throws SyncError otherwise. */
export const hashList = (value: unknown): string[] => {
  if (!Array.isArray(value) || value.length > MAX_SYNC_LIST || !value.every(isEntryHash)) throw new SyncError('the peer sent a malformed or too long list of entry hashes')
  return value
}

/** A peer's `want` list of envelope CIDs (absent: none), checked; throws SyncError otherwise. */
export const envelopeList = (value: unknown): string[] => {
  if (value === undefined) return []
  if (!Array.isArray(value) || value.length > MAX_SYNC_LIST || !value.every(v => parseEnvelopeCid(v) !== undefined)) throw new SyncError('the peer sent a malformed or too long list of envelope CIDs')
  return value
}

/** Reads of the inbox made at once (which received entries it has): each is a LevelDB round trip, mostly waiting. */
const READ_AHEAD = 16

/** The deadline of one session, and what keeps it from expiring. */
interface SessionDeadline {
  signal: AbortSignal
  /** A frame moved: the idle clock starts again. */
  moved: () => void
  /** The session is over: no timer is left behind. */
  stop: () => void
}

/**
 * A session ends when no frame has moved either way for `idleMs` (a stalled peer, or this side),
 * after MAX_SYNC_SESSION_MS in all, or when `outer` aborts. Not one deadline for the whole
 * exchange: the frames of a 30,000-entry catch-up keep moving for longer than `idleMs`.
 */
function sessionDeadline (idleMs: number, outer?: AbortSignal): SessionDeadline {
  const idle = new AbortController()
  const timer = setTimeout(() => { idle.abort(new DOMException(`no sync frame moved for ${idleMs} ms`, 'TimeoutError')) }, idleMs)
  timer.unref()
  const signal = AbortSignal.any([idle.signal, AbortSignal.timeout(MAX_SYNC_SESSION_MS), ...(outer === undefined ? [] : [outer])])
  return { signal, moved: () => { if (!idle.signal.aborted) timer.refresh() }, stop: () => { clearTimeout(timer) } }
}

/** `lp`, telling `deadline` of every frame read or written. */
function watched (lp: Frames, deadline: SessionDeadline): Frames {
  return {
    read: async (options) => {
      const frame = await lp.read(options)
      deadline.moved()
      return frame
    },
    write: async (data, options) => {
      await lp.write(data, options)
      deadline.moved()
    },
    unwrap: lp.unwrap
  }
}

/** The sync service of a node: serves registered inboxes, syncs them with peers, pushes heads. */
export function createInboxSync (options: InboxSyncOptions) {
  const { libp2p } = options
  const authorize = options.authorize ?? ownerOrGrantee
  const grantFor = options.grantFor ?? (() => undefined)
  const timeoutMs = options.timeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS
  const pushDelayMs = options.pushDelayMs ?? DEFAULT_PUSH_DELAY_MS
  const inboxes = new Map<string, Inbox>()
  const helloBuffers = createFrameBudget()
  /** Per inbox: peers that replicate it with us (synced at least once, still connected). */
  const replicas = new Map<string, Set<string>>()
  /**
   * Per inbox: envelopes of pending mail that this replica lacks. Mail noted since the inbox was
   * registered goes in at once; what it held before is read when a session first wants it, not at
   * the opening (a host opens an inbox per delivery, and a delivery wants no envelope).
   */
  const missing = new Map<string, Set<string>>()
  /** Per registered inbox whose earlier pending mail is not read yet: that reading, once begun. */
  const unread = new Map<string, Promise<void> | undefined>()
  /** Per inbox and peer: a push in flight, and whether another is wanted after it. */
  const pushes = new Map<string, { running: Promise<void>, again: boolean }>()
  const unsubscribers = new Map<string, () => void>()
  const served: InboxResolver = options.inboxFor ?? servedFrom(inboxes)
  /**
   * Per inbox: the sessions being applied, with the envelopes each brought and the mail announced
   * meanwhile that carries one: not looked up one by one (10,000 blockstore reads in a catch-up)
   * but checked against what the session stored.
   */
  const applying = new Map<string, Set<{ envelopes: Map<string, Uint8Array>, announced: string[], stored: Set<string> }>>()
  /** Entry hash → the peer it is being joined from, while the join runs (see `push`). */
  const joinedFrom = new Map<string, string>()

  // ── what to send ──────────────────────────────────────────────────────────────────────────

  const headsOf = async (inbox: Inbox): Promise<{ heads: string[], have: string[] }> => {
    const heads = await inbox.heads()
    const have = new Set<string>()
    for (const head of heads) for (const hash of [...head.next, ...head.refs]) have.add(hash)
    return { heads: heads.map(h => h.hash).slice(0, MAX_SYNC_LIST), have: [...have].slice(0, MAX_SYNC_LIST) }
  }

  const sendBlocks = async (lp: Frames, inbox: Inbox, theirs: Set<string>, want: string[], signal: AbortSignal): Promise<number> => {
    let sent = 0
    const send = async (batch: Array<{ c: Uint8Array, b: Uint8Array }>): Promise<void> => {
      await lp.write(dagCbor.encode({ v: FORMAT_VERSION, t: 'blocks', blocks: batch }), { signal })
      // One blocks frame in flight: the reader acknowledges each once it has taken it in, so a
      // fast sender never overflows a slow reader's buffer.
      const ack = await read(lp, signal)
      if (ack.t !== 'ack') throw new SyncError(`the peer sent "${ack.t}" where an ack was expected`)
      sent += batch.length
    }
    // The next batch is read from the blockstore while the one before is sent and acknowledged.
    let sending: Promise<void> = Promise.resolve()
    let batch: Array<{ c: Uint8Array, b: Uint8Array }> = []
    let bytes = 0
    const flush = async (): Promise<void> => {
      await sending
      if (batch.length === 0) return
      sending = send(batch)
      sending.catch(() => {}) // awaited at the next flush or at the end
      batch = []
      bytes = 0
    }
    try {
      for await (const { cid, bytes: b } of inbox.blocksSince(theirs, want)) {
        const block = { c: cid.bytes, b }
        if (bytes + block.b.byteLength > BATCH_BYTES || batch.length >= MAX_FRAME_BLOCKS) await flush()
        batch.push(block)
        bytes += block.b.byteLength
      }
      await flush()
    } finally {
      await sending
    }
    return sent
  }

  // ── what to receive ───────────────────────────────────────────────────────────────────────

  const read = async (lp: Frames, signal: AbortSignal): Promise<Message> => {
    const frame = await lp.read({ signal })
    let message: unknown
    try {
      message = decodeCbor(frame.subarray(), MAX_SYNC_FRAME_BYTES, 'sync frame', SYNC_FRAME_LIMITS)
    } catch (err) {
      throw new SyncError(`the peer sent a frame that is not bounded, canonical dag-cbor: ${(err as Error).message}`, { cause: err })
    }
    if (typeof message !== 'object' || message === null || (message as Message).v !== FORMAT_VERSION || typeof (message as Message).t !== 'string') {
      throw new SyncError('the peer sent a message of an unknown shape or version')
    }
    return message as Message
  }

  /**
   * Receive blocks frames until a frame of type `until`; verify and hold entries and envelopes.
   * Blocks that are not canonical dag-cbor, and entries of a shape the rules refuse (§9.3), are
   * held back in `bad` with the reason: a head that needs one is refused.
   */
  const receiveBlocks = async (lp: Frames, inbox: Inbox, until: string, signal: AbortSignal): Promise<Received> => {
    const entries = new Map<string, EntryBlock>()
    const envelopes = new Map<string, Uint8Array>()
    const bad = new Map<string, string>()
    let held = 0
    for (;;) {
      const message = await read(lp, signal)
      if (message.t === until) return { end: message, entries, envelopes, bad }
      if (message.t === 'refused') {
        const reason = typeof message.reason === 'string' && message.reason.length <= 200 ? `: ${message.reason}` : ''
        throw new SyncRefusedError(`The peer refused to sync ${inbox.address}${reason}. It does not host this inbox for you`)
      }
      if (message.t !== 'blocks' || !Array.isArray(message.blocks)) throw new SyncError(`the peer sent "${message.t}" where blocks or ${until} were expected`)
      for (const block of message.blocks) {
        if (!(isBytes(block?.c)) || !(isBytes(block?.b))) throw new SyncError('the peer sent a malformed block')
        let cid: CID
        try { cid = CID.decode(block.c) } catch (err) { throw new SyncError('the peer sent a malformed CID', { cause: err }) }
        const digest = await sha256.digest(block.b)
        if (cid.version !== 1 || cid.code !== dagCbor.code || !CID.createV1(dagCbor.code, digest).equals(cid)) {
          throw new SyncError(`the peer sent a block that does not match its CID ${cid.toString()}`)
        }
        let value: unknown
        try { value = dagCbor.decode(block.b) } catch { continue } // not dag-cbor despite its CID: ignore
        held += block.b.byteLength
        if (held > MAX_SYNC_SESSION_BYTES) throw new SyncError(`the peer sent more than ${MAX_SYNC_SESSION_BYTES} bytes in one session`)
        const hash = cid.toString(base58btc)
        // PROTOCOL §1: one value, one encoding. Another encoding of a signed entry would be a new
        // entry (a new hash) with a valid signature: a replay that costs nothing.
        if (!isCanonical(value, block.b)) {
          bad.set(hash, 'its block is not canonical dag-cbor')
          continue
        }
        if (isPlainMap(value) && Object.hasOwn(value, 'payload')) {
          const entry = { ...value, hash }
          const problem = entryShapeProblem(entry, inbox.address)
          if (problem === undefined) entries.set(hash, { hash, bytes: block.b, entry: entry as EntryBlock['entry'] })
          else bad.set(hash, problem.message)
        } else {
          envelopes.set(cid.toString(), block.b)
        }
      }
      await lp.write(dagCbor.encode({ v: FORMAT_VERSION, t: 'ack' }), { signal })
    }
  }

  /** What the closures of one session's heads share: entries known to be in the log, clock verdicts. */
  interface ClosureMemo { inLog: Map<string, boolean>, clocks: Map<string, string | undefined> }

  /**
   * The entries of this session that `head` needs (itself and every ancestor not in the log yet),
   * or why it cannot be joined: one of them was not sent (a join would have to fetch it over the
   * network), was refused on receipt, or has a clock that is not its parents' highest plus one
   * (§9.3; its parents are all in hand here). `memo` spares the heads of one session walking their
   * shared history again.
   */
  const closure = async (inbox: Inbox, head: string, received: Received, memo: ClosureMemo): Promise<{ needed: EntryBlock[] } | { reason: string }> => {
    const { entries, bad } = received
    const inLog = async (hash: string): Promise<boolean> => {
      let known = memo.inLog.get(hash)
      if (known === undefined) memo.inLog.set(hash, known = await inbox.has(hash))
      return known
    }
    const needed: EntryBlock[] = []
    const stack = [head]
    const seen = new Set<string>()
    while (stack.length > 0) {
      const hash = stack.pop()!
      if (seen.has(hash)) continue
      seen.add(hash)
      if (hash !== head && await inLog(hash)) continue
      const block = entries.get(hash)
      if (block === undefined) return { reason: hash === head ? (bad.get(hash) ?? 'it was not sent') : `an entry it links to ${bad.has(hash) ? `is refused: ${bad.get(hash)!}` : 'was not sent'}` }
      needed.push(block)
      stack.push(...block.entry.next, ...block.entry.refs)
    }
    for (const block of needed) {
      if (!memo.clocks.has(block.hash)) {
        const parents: string[] = [...block.entry.next, ...block.entry.refs]
        const times = await Promise.all(parents.map(async parent => entryTime(entries.get(parent)?.entry ?? await inbox.get(parent))))
        memo.clocks.set(block.hash, clockProblem(block.entry, times)?.message)
      }
      const problem = memo.clocks.get(block.hash)
      if (problem !== undefined) return { reason: block.hash === head ? problem : `an entry it links to is refused: ${problem}` }
    }
    return { needed }
  }

  /** Join the other side's heads (checked, then written in batches by the inbox), keep wanted envelopes. */
  const apply = async (inbox: Inbox, peer: string, heads: string[], received: Received): Promise<Omit<SyncResult, 'sent'>> => {
    const { entries, envelopes, bad } = received
    const toJoin: JoinHead[] = []
    const incomplete: Array<{ hash: string, reason: string }> = []
    const memo: ClosureMemo = { inLog: new Map(), clocks: new Map() }
    if (heads.some(hash => entries.has(hash))) {
      // Which received entries the log has: asked all at once, not one by one along the walk.
      const reads = concurrencyLimit(READ_AHEAD)
      await Promise.all([...entries.keys()].map(async hash => { await reads.run(async () => { memo.inLog.set(hash, await inbox.has(hash)) }) }))
    }
    for (const hash of heads) {
      if (await inbox.has(hash)) continue
      if (!entries.has(hash) && !bad.has(hash)) continue
      const found = await closure(inbox, hash, received, memo)
      if ('reason' in found) incomplete.push({ hash, reason: found.reason })
      else toJoin.push({ hash, needed: found.needed })
    }
    const session = { envelopes, announced: [] as string[], stored: new Set<string>() }
    let sessions = applying.get(inbox.address)
    if (sessions === undefined) applying.set(inbox.address, sessions = new Set())
    sessions.add(session)
    try {
      return await joinAndStore(inbox, peer, toJoin, incomplete, session)
    } finally {
      sessions.delete(session)
      if (sessions.size === 0) applying.delete(inbox.address)
      for (const env of session.announced) if (!session.stored.has(env)) noteIfLacking(inbox, env)
    }
  }

  const joinAndStore = async (inbox: Inbox, peer: string, toJoin: JoinHead[], incomplete: Array<{ hash: string, reason: string }>, session: { envelopes: Map<string, Uint8Array>, stored: Set<string> }): Promise<Omit<SyncResult, 'sent'>> => {
    const { envelopes } = session
    // Entries that came from `peer` are not pushed back to it: it has them.
    for (const head of toJoin) joinedFrom.set(head.hash, peer)
    let outcome
    try {
      outcome = await inbox.joinHeads(toJoin)
    } finally {
      for (const head of toJoin) joinedFrom.delete(head.hash)
    }
    const joined = outcome.joined
    const refused = [...incomplete, ...outcome.refused]
    for (const { hash, reason } of refused) log('refused entry %s of %s: %s', hash, inbox.address, reason)
    // Envelopes: checked against their CIDs on receipt; the inbox keeps those of its unpruned mail
    // at the size that mail states (§10), in one batch.
    const blocks = (await Promise.all([...envelopes].map(async ([env, bytes]) => await envelopeBlock(env, bytes)))).filter(b => b !== undefined)
    const kept = await inbox.putEnvelopes(blocks)
    for (const { env, reason } of kept.refused) log('refused envelope %s of %s: %s', env, inbox.address, reason)
    const lacking = missing.get(inbox.address)
    for (const env of kept.stored) {
      lacking?.delete(env)
      session.stored.add(env)
    }
    const result = { joined: joined.length, refused: refused.length, envelopes: kept.stored.length }
    inbox.events.emit('synced', result)
    return result
  }

  /** Remember `env` as lacking here unless its block is stored. */
  const noteIfLacking = (inbox: Inbox, env: string): void => {
    void inbox.hasEnvelope(env).then(has => { if (!has) missing.get(inbox.address)?.add(env) })
  }

  const notePeer = (inbox: Inbox, peer: string): void => {
    let peers = replicas.get(inbox.address)
    if (peers === undefined) replicas.set(inbox.address, peers = new Set())
    peers.add(peer)
  }

  // ── the two sides ─────────────────────────────────────────────────────────────────────────

  const handle = async (stream: Stream, connection: Connection): Promise<void> => {
    const peer = connection.remotePeer.toString()
    const deadline = sessionDeadline(timeoutMs)
    const signal = deadline.signal
    // Until the hello shows who the peer is, the stream reads one frame of MAX_SYNC_HELLO_BYTES at
    // most, whose length is reserved in the budget of unauthenticated bytes before it is read.
    const first = watched(frames(stream, MAX_SYNC_HELLO_BYTES, {
      inspect: { bytes: 1024, check: head => { refuseBadHead(head, SYNC_FRAME_LIMITS, 'sync hello') } },
      admit: length => {
        const release = helloBuffers.reserve(connection.remoteAddr, length)
        if (release === undefined) throw new SyncError('too many bytes of sync hellos from this address are in flight')
        stream.addEventListener('close', release, { once: true })
      }
    }), deadline)
    let lp: Frames = first
    let lease: InboxLease | undefined
    try {
      const hello = await read(first, signal)
      const target = hello.t === 'hello' && typeof hello.inbox === 'string' ? served(hello.inbox) : undefined
      const grant = isBytes(hello.grant) ? hello.grant : undefined
      // Opened only for an authorised peer: a stranger's hello costs no inbox opening.
      if (target !== undefined && await authorize(peer, target, grant)) lease = await target.lease({ signal })
      const inbox = lease?.inbox
      if (inbox === undefined) {
        // The same answer for "not here" and "not allowed": an unauthorised peer learns nothing more.
        await stream.closeRead()
        await first.write(dagCbor.encode({ v: FORMAT_VERSION, t: 'refused', code: 'ERR_SYNC_REFUSED', reason: 'this node does not serve that inbox to you' }), { signal })
        await stream.close({ signal })
        return
      }
      first.unwrap() // gives back what it read past the hello, to the stream
      lp = watched(frames(stream, MAX_SYNC_FRAME_BYTES), deadline)
      const theirHeads = hashList(hello.heads)
      const theirs = new Set([...theirHeads, ...hashList(hello.have)])
      const sent = await sendBlocks(lp, inbox, theirs, envelopeList(hello.want), signal)
      const mine = await headsOf(inbox)
      await lp.write(dagCbor.encode({ v: FORMAT_VERSION, t: 'end', ...mine, want: await wanted(inbox) }), { signal })
      const received = await receiveBlocks(lp, inbox, 'done', signal)
      // The exchange is over: the join below is local work, outside the session and its deadline.
      await stream.close({ signal })
      deadline.stop()
      await apply(inbox, peer, theirHeads, received)
      notePeer(inbox, peer)
      log('served %s to %s: %d blocks sent, %d entries received', inbox.address, peer, sent, received.entries.size)
    } catch (err) {
      log.error('sync session with %s failed: %s', peer, (err as Error).message)
      stream.abort(err as Error)
    } finally {
      deadline.stop()
      lease?.release()
    }
  }

  /** The envelopes `inbox` lacks (its pending mail read once, at the first call). */
  const lackingIn = async (inbox: Inbox): Promise<Set<string>> => {
    const address = inbox.address
    const lacking = missing.get(address) ?? new Set<string>()
    if (unread.has(address)) {
      let reading = unread.get(address)
      if (reading === undefined) {
        reading = (async () => {
          // An envelope stored while this runs may be listed: asked for once more, harmless.
          try {
            for (const env of await inbox.lackingEnvelopes()) lacking.add(env)
            if (unread.get(address) === reading) unread.delete(address)
          } catch (err) {
            if (unread.get(address) === reading) unread.set(address, undefined) // read again by the next session
            throw err
          }
        })()
        unread.set(address, reading)
      }
      await reading
    }
    return lacking
  }

  const wanted = async (inbox: Inbox): Promise<string[]> => [...await lackingIn(inbox)].slice(0, MAX_SYNC_LIST)

  /** Sync `inbox` with `peer` (a peer-id string or PeerId) over one stream; both sides end up with the union. */
  const syncWith = async (peer: string | PeerId, inbox: Inbox, callOptions: { signal?: AbortSignal } = {}): Promise<SyncResult> => {
    const peerId = typeof peer === 'string' ? peerIdFromString(peer) : peer
    const deadline = sessionDeadline(timeoutMs, callOptions.signal)
    const signal = deadline.signal
    let stream: Stream
    try {
      stream = await libp2p.dialProtocol(peerId, SYNC_PROTOCOL, { signal })
    } catch (err) {
      deadline.stop()
      throw err
    }
    const lp = watched(frames(stream, MAX_SYNC_FRAME_BYTES), deadline)
    let session: { theirHeads: string[], received: Received, sent: number }
    const failed = (err: unknown): Error => err instanceof IpmsError
      ? err
      : new SyncError(`syncing ${inbox.address} with ${peerId.toString()} failed: ${(err as Error).message}`, { cause: err })
    try {
      const mine = await headsOf(inbox)
      const grant = grantFor(inbox)
      const hello = { v: FORMAT_VERSION, t: 'hello', inbox: inbox.address, ...mine, want: await wanted(inbox), ...(grant === undefined ? {} : { grant: encodeCbor(grant) }) }
      await lp.write(dagCbor.encode(hello), { signal })
      const received = await receiveBlocks(lp, inbox, 'end', signal)
      const end = received.end
      const theirHeads = hashList(end.heads)
      // What we send does not depend on what we join (the walk stops at their heads either way),
      // so the session ends first: a long join (10,000 entries) must not hold the peer's side of
      // the session open until its deadline cuts it ("Cannot write to a stream that is closed").
      const sent = await sendBlocks(lp, inbox, new Set([...theirHeads, ...hashList(end.have)]), envelopeList(end.want), signal)
      await lp.write(dagCbor.encode({ v: FORMAT_VERSION, t: 'done' }), { signal })
      await stream.close({ signal })
      session = { theirHeads, received, sent }
    } catch (err) {
      stream.abort(err as Error)
      throw failed(err)
    } finally {
      deadline.stop()
    }
    try {
      const result = await apply(inbox, peerId.toString(), session.theirHeads, session.received)
      notePeer(inbox, peerId.toString())
      return { ...result, sent: session.sent }
    } catch (err) {
      throw failed(err)
    }
  }

  /**
   * Push our heads to every connected replica of `inbox` (but `source`, which sent the entry that
   * triggered the push), one sync per peer at a time; updates during a sync coalesce into one more.
   */
  const push = (inbox: Inbox, source?: string): void => {
    for (const peer of replicas.get(inbox.address) ?? []) {
      if (peer === source) continue
      if (libp2p.getConnections(peerIdFromString(peer)).length === 0) {
        replicas.get(inbox.address)?.delete(peer)
        continue
      }
      const key = `${inbox.address} ${peer}`
      const current = pushes.get(key)
      if (current !== undefined) { current.again = true; continue }
      const state = { running: Promise.resolve(), again: false }
      state.running = (async () => {
        // Let the appends of one burst gather into one session (as Nagle does for packets): a
        // session costs a stream and four round trips, an entry in it a few hundred bytes.
        await new Promise(resolve => setTimeout(resolve, pushDelayMs).unref())
        do {
          state.again = false
          try {
            // Held open for the session (a host closes idle inboxes); not pushed once no longer served.
            const lease = await served(inbox.address)?.lease()
            if (lease !== undefined) {
              try { await syncWith(peer, lease.inbox) } finally { lease.release() }
            }
          } catch (err) { log('push of %s to %s failed: %s', inbox.address, peer, (err as Error).message) }
        } while (state.again)
        pushes.delete(key)
      })()
      pushes.set(key, state)
    }
  }

  /** Serve and push `inbox`; learn which of its envelopes this replica lacks. */
  const register = async (inbox: Inbox): Promise<void> => {
    inboxes.set(inbox.address, inbox)
    missing.set(inbox.address, new Set())
    unread.set(inbox.address, undefined)
    const onUpdate = (entry: { hash?: string }): void => { push(inbox, entry?.hash === undefined ? undefined : joinedFrom.get(entry.hash)) }
    const onMail = (mail: { env: string }): void => {
      // Mail joined with its envelope in the session: checked once the session has stored it.
      for (const session of applying.get(inbox.address) ?? []) {
        if (session.envelopes.has(mail.env)) { session.announced.push(mail.env); return }
      }
      noteIfLacking(inbox, mail.env)
    }
    inbox.events.on('update', onUpdate)
    inbox.events.on('mail', onMail)
    unsubscribers.set(inbox.address, () => {
      inbox.events.off('update', onUpdate)
      inbox.events.off('mail', onMail)
    })
  }

  /** Stop serving `inbox`; with `keepReplicas`, its push peers stay known for when it is registered again (closed while idle). */
  const unregister = (inbox: Inbox, unregisterOptions: { keepReplicas?: boolean } = {}): void => {
    unsubscribers.get(inbox.address)?.()
    unsubscribers.delete(inbox.address)
    inboxes.delete(inbox.address)
    if (unregisterOptions.keepReplicas !== true) replicas.delete(inbox.address)
    missing.delete(inbox.address)
    unread.delete(inbox.address)
  }

  return {
    start: async (): Promise<void> => {
      await libp2p.handle(SYNC_PROTOCOL, handle, { maxInboundStreams: 64, maxOutboundStreams: 64 })
    },
    stop: async (): Promise<void> => {
      await libp2p.unhandle(SYNC_PROTOCOL)
      await Promise.allSettled([...pushes.values()].map(async p => await p.running))
      for (const inbox of [...inboxes.values()]) unregister(inbox)
    },
    register,
    unregister,
    syncWith,
    /** Wait until no push is in flight (for tests and orderly shutdown). */
    idle: async (): Promise<void> => {
      while (pushes.size > 0) await Promise.allSettled([...pushes.values()].map(async p => await p.running))
    },
    /** Envelopes of pending mail this replica lacks. */
    missingEnvelopes: async (inbox: Inbox): Promise<string[]> => inboxes.has(inbox.address) ? [...await lackingIn(inbox)] : []
  }
}

export type InboxSync = ReturnType<typeof createInboxSync>
