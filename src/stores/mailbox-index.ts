/**
 * The mailbox index: which mail of an inbox log is still pending, kept in LevelDB beside the log so
 * that `pending()` never walks the log, and survives restarts (docs/PROTOCOL.md §9.4, §12;
 * docs/ARCHITECTURE.md, stores).
 *
 * Keys (the inbox's `mailbox` key space in the home's inbox store, inbox-store.ts; UTF-8 values):
 *   s!<entry>             seen: this entry has been applied; the value is a MAIL's envelope CID ('' for a PRUNE)
 *   e!<env>               JSON { entry, seen }: the first MAIL entry that carried this envelope (later
 *                         ones are replays) and when this replica first saw it (ms, its own clock);
 *                         the receipt a host gives for the envelope, however often it is delivered
 *   p!<entry>             a PRUNE listed this entry (it may arrive before the entry itself)
 *   x!<env>               this envelope is pruned or expired (whichever entry carried it)
 *   m!<seen:16>!<entry>   JSON PendingMail: pending mail, ordered by when this replica first saw it
 *   h!<entry>             <m! key>: where a pending mail is, to drop it on prune
 *   b!<env>               bytes of this envelope's block held here (counted in t! while its mail is pending)
 *   g!<env>               envelope to delete from the blockstore (a crash-safe GC queue)
 *   t!                    total bytes of held envelopes of pending mail (kept in the same batches)
 *   f!                    JSON { n, o?, l?, g }: how many mails are pending, when the oldest and the
 *                         newest of them were first seen (absent while unknown: recounted when asked),
 *                         and whether g! may hold envelopes (kept in the same batches as t!)
 *
 * Rules: a PRUNE naming any entry that carries an envelope prunes the envelope (every entry that
 * carries it, whichever order they and the PRUNE arrive in); a pruned envelope never becomes
 * pending again. Times are this replica's (`seen`), never the entry's claimed `ts`: a hostile
 * co-host's entry with an absurd `ts` orders and expires like any other. The quota total counts
 * only envelopes whose block is here (`b!`): pending mail without its envelope costs nothing.
 *
 * Watch for: a batch of entries is applied in one LevelDB batch, entries marked seen together with
 * their effects, so a crash leaves either all of a catch-up or none of it. The keys a batch of mail
 * reads are fetched in one `getMany`, and the byte total is kept in memory as well (this index is
 * its only writer), because each LevelDB read is a thread-pool round trip. So is the pending set's
 * summary (f!): a host opens and closes an inbox per delivery, and its figures (`host list`,
 * retention) and the GC queue's check at opening then read two keys instead of walking ranges,
 * each walk a seek in the home's one LevelDB. Entries are applied in
 * causal order (Lamport time, then hash), so every replica keeps the same first entry of a replayed
 * envelope when it sees them together.
 */
import { boundedMap } from '../util/bounded-map.ts'
import type { KeySpace } from './orbitdb/inbox-store.ts'

/** One pending mail as the index keeps it. */
export interface PendingMail {
  /** Hash of the MAIL entry (what a PRUNE lists). */
  hash: string
  /** Envelope CID string. */
  env: string
  /** Envelope size the entry claims, bytes. */
  size: number
  /** Delivery time the entry claims, ms since the epoch (the sender's, unchecked after delivery). */
  ts: number
  /** When this replica first saw the entry, ms since the epoch (its own clock). */
  seen: number
}

/** The pending set in figures (`MailboxIndex.summary`). */
export interface PendingSummary {
  /** Pending mails. */
  count: number
  /** Bytes of their envelopes held here. */
  bytes: number
  /** When this replica first saw the oldest and the newest of them (none when nothing is pending). */
  oldest?: number
  newest?: number
}

/** An entry to apply: a MAIL or a PRUNE, already accepted by the access controller. */
export type IndexedOp =
  /** `held`: bytes of the envelope block stored here with the entry (an append with its envelope). */
  | { hash: string, op: 'MAIL', env: string, size: number, ts: number, held?: number }
  | { hash: string, op: 'PRUNE', entries: string[] }

export interface ApplyResult {
  /** Mail that became pending. */
  added: PendingMail[]
  /** Envelopes that became pruned (their blocks are queued for deletion). */
  pruned: string[]
  /** True when blocks were queued for deletion (`pruned`, or a block stored for a pruned envelope). */
  garbage: boolean
}

/** The first entry of an envelope here, and when this replica first saw it. */
export interface FirstEntry {
  entry: string
  seen: number
}

/** Every pending mail's key (m!…). */
const PENDING_KEYS = { gt: 'm!', lt: 'm"' }

const pendingKey = (seen: number, hash: string): string => `m!${String(Math.max(0, Math.floor(seen))).padStart(16, '0')}!${hash}`

/**
 * Entries and envelopes remembered in memory per inbox, to spare a read when they come again
 * (a replay, a delivery's quota check then its store); bounded low, as a host keeps thousands.
 */
const CACHE_SIZE = 256

export interface MailboxIndex {
  /** True when the entry has been applied. */
  seen: (hash: string) => Promise<boolean>
  /** Apply entries (any order; sorted causally by the caller) in one atomic batch. */
  apply: (ops: IndexedOp[]) => Promise<ApplyResult>
  /** Pending mail, most recently seen first. */
  pending: () => Promise<PendingMail[]>
  /** Bytes of the pending mail's envelopes held here (a host's quota), without walking the mail. */
  pendingBytes: () => Promise<number>
  /** How much mail is pending, its bytes held here, when the oldest and newest of it were first seen: without walking the mail. */
  summary: () => Promise<PendingSummary>
  /** Envelopes of pending mail whose block is not recorded as held here (`b!`): one walk and one getMany. */
  lacking: () => Promise<string[]>
  /** True when a MAIL entry of this log carries `env` and it is not pruned: its block is wanted. */
  wantsEnvelope: (env: string) => Promise<boolean>
  /** The first entry that carried `env` here (pending or pruned), or undefined. */
  firstEntry: (env: string) => Promise<FirstEntry | undefined>
  /** The envelope size the pending mail of `env` states (its block is wanted), or undefined when no pending mail carries it. */
  pendingSize: (env: string) => Promise<number | undefined>
  /**
   * Record that `env`'s block (`bytes` long) is stored here. Returns true when the envelope is
   * pruned already: the block was queued for deletion again.
   */
  held: (env: string, bytes: number) => Promise<boolean>
  /**
   * For each of `envs` (a sync session's envelopes): whether its block is wanted here (`wantsEnvelope`)
   * and the size its pending mail states (`pendingSize`), read together in three getMany.
   */
  envelopeStates: (envs: string[]) => Promise<Array<{ wanted: boolean, size?: number }>>
  /** `held` for many blocks at once (a sync session's envelopes): one read of their keys, one batch. */
  heldMany: (blocks: Array<{ env: string, bytes: number }>) => Promise<boolean>
  /**
   * Drop pending mail this replica first saw before `before` (ms), a host's retention policy:
   * local to this replica, not an entry of the log. Returns the envelopes queued for deletion.
   */
  expire: (before: number) => Promise<string[]>
  /** Envelopes waiting to be deleted from the blockstore (the queue is not walked when the tally says it is empty). */
  garbage: () => Promise<string[]>
  /** Forget deleted envelopes from the GC queue: `envs` is all that `garbage` listed (the caller runs both in one serial queue). */
  collected: (envs: string[]) => Promise<void>
}

export interface MailboxIndexOptions {
  /** This replica's clock, ms (tests move it). Default Date.now. */
  now?: () => number
  /** `t!` and `f!` as the caller read them with its own keys (one read at an opening), instead of reading them here. */
  read?: { 't!': string | undefined, 'f!': string | undefined }
}

/** An `e!` value: JSON, or (indexes written before it had a time) the bare entry hash. */
const parseFirst = (value: string): FirstEntry =>
  value.startsWith('{') ? JSON.parse(value) as FirstEntry : { entry: value, seen: 0 }

const parsePending = (value: string): PendingMail => {
  const mail = JSON.parse(value) as PendingMail
  return { ...mail, seen: mail.seen ?? mail.ts }
}

/**
 * The f! record: `n` pending mails, first seen from `o` to `l` (both absent when nothing is pending
 * or while they are unknown), `g` when the GC queue may hold envelopes.
 */
interface Tally { n: number, o?: number, l?: number, g: boolean }

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0

/** An f! value, or undefined when it is not one (then counted again from the keys). */
function parseTally (value: string | undefined): Tally | undefined {
  if (value === undefined || value.length > 200) return undefined
  let tally: unknown
  try { tally = JSON.parse(value) } catch { return undefined }
  if (typeof tally !== 'object' || tally === null) return undefined
  const { n, o, l, g } = tally as Record<string, unknown>
  if (!isCount(n) || typeof g !== 'boolean') return undefined
  if ((o === undefined) !== (l === undefined) || (o !== undefined && (!isCount(o) || !isCount(l) || o > (l as number)))) return undefined
  if (n === 0 && o !== undefined) return undefined
  return { n, g, ...(o === undefined ? {} : { o, l: l as number }) }
}

/** The `seen` time a pending key (`m!<seen:16>!<entry>`) holds. */
const seenOfKey = (key: string): number => Number(key.slice(2, 18))

/** The index kept in `space` (an inbox's `mailbox` key space; the LevelDB stays its owner's). */
export async function openMailboxIndex (space: KeySpace<string>, options: MailboxIndexOptions = {}): Promise<MailboxIndex> {
  const now = options.now ?? Date.now
  const get = space.get
  const [totalValue, tallyValue] = options.read === undefined ? await space.getMany(['t!', 'f!']) : [options.read['t!'], options.read['f!']]
  /** Total bytes of held envelopes of pending mail, as last written under t!. */
  let total = Number(totalValue ?? 0)
  /**
   * The pending set's tally, as last written under f!. An index without t! was never written (every
   * batch writes it): nothing pending, nothing to collect. One written before f! existed, or whose
   * f! does not parse, is counted from its keys, once (written with the next batch).
   */
  let tally: Tally = parseTally(tallyValue) ?? (totalValue === undefined ? { n: 0, g: false } : await countPending())
  /** The tally read from the keys themselves: one walk of the pending set; the GC queue taken as non-empty. */
  async function countPending (): Promise<Tally> {
    let n = 0
    let o: number | undefined
    let l: number | undefined
    for await (const key of space.keys(PENDING_KEYS)) {
      const seen = seenOfKey(key)
      n++
      o ??= seen
      l = seen
    }
    return { n, g: true, ...(o === undefined ? {} : { o, l: l! }) }
  }

  /** Applied entries (a positive cache: an entry once seen stays seen). */
  const seenCache = boundedMap<string, true>(CACHE_SIZE)
  /** First entries of envelopes (once set, an e! record never changes). */
  const firstCache = boundedMap<string, FirstEntry>(CACHE_SIZE)
  /**
   * Envelopes read as having no entry (a delivery's quota check, then its store, ask twice). Sound
   * because `apply` is the only writer of e! and forgets what it writes; `applied` counts its
   * batches, so that a read that raced one is not remembered.
   */
  const noEntry = boundedMap<string, true>(CACHE_SIZE)
  let applied = 0

  /**
   * A change set over the index: reads see its own writes (null = deleted), and `prefetch`ed keys
   * come from one getMany.
   */
  const changes = () => {
    const overlay = new Map<string, string | null>()
    const fetched = new Map<string, string | undefined>()
    const draft: Tally = { ...tally }
    return {
      overlay,
      tally: draft,
      /** A mail first seen at `seen` became pending. */
      added: (seen: number): void => {
        draft.n++
        if (draft.n === 1) { draft.o = seen; draft.l = seen } else if (draft.o !== undefined) { draft.o = Math.min(draft.o, seen); draft.l = Math.max(draft.l!, seen) }
      },
      /** The pending mail first seen at `seen` was dropped: an end of the span gone leaves it unknown (counted when asked). */
      dropped: (seen: number): void => {
        draft.n = Math.max(0, draft.n - 1)
        if (draft.n === 0 || (draft.o !== undefined && (seen <= draft.o || seen >= draft.l!))) { delete draft.o; delete draft.l }
      },
      prefetch: async (keys: string[]): Promise<void> => {
        const wanted = keys.filter(k => !fetched.has(k))
        if (wanted.length > 0) (await space.getMany(wanted)).forEach((value, i) => fetched.set(wanted[i]!, value ?? undefined))
      },
      read: async (key: string): Promise<string | undefined> => {
        if (overlay.has(key)) return overlay.get(key) ?? undefined
        if (fetched.has(key)) return fetched.get(key)
        return await get(key)
      },
      set: (key: string, value: string | null): void => {
        overlay.set(key, value)
        if (value !== null && key.startsWith('g!')) draft.g = true
      }
    }
  }
  type Changes = ReturnType<typeof changes>

  /** Write a change set in one batch, with its tally (f!); the tally in memory follows once it is written. */
  const write = async (c: Changes): Promise<void> => {
    c.overlay.set('f!', JSON.stringify(c.tally))
    await space.batch([...c.overlay].map(([key, value]) => value === null ? { type: 'del' as const, key } : { type: 'put' as const, key, value }))
    tally = c.tally
  }

  /** True when `env` has pending mail here (its first entry is in the pending set). */
  const isPending = async (c: Changes, env: string): Promise<boolean> => {
    const first = await c.read(`e!${env}`)
    return first !== undefined && await c.read(`h!${parseFirst(first).entry}`) !== undefined
  }

  /** Drop the pending mail of `env` (if any) from the set and the byte total; returns the bytes it held. */
  const dropPending = async (c: Changes, env: string): Promise<number> => {
    const first = await c.read(`e!${env}`)
    const held = Number(await c.read(`b!${env}`) ?? 0)
    c.set(`b!${env}`, null)
    if (first === undefined) return 0
    const { entry } = parseFirst(first)
    const key = await c.read(`h!${entry}`)
    if (key === undefined) return 0
    c.set(key, null)
    c.set(`h!${entry}`, null)
    c.dropped(seenOfKey(key))
    return held
  }

  const apply = async (ops: IndexedOp[]): Promise<ApplyResult> => {
    const time = now()
    const c = changes()
    await c.prefetch(ops.flatMap(op => op.op === 'MAIL'
      ? [`s!${op.hash}`, `e!${op.env}`, `p!${op.hash}`, `x!${op.env}`, `b!${op.env}`]
      : [`s!${op.hash}`, ...op.entries.map(e => `s!${e}`)]))
    // A PRUNE's targets: their envelopes' keys, then their first entries' pending keys, fetched
    // together too (a PRUNE of 1,000 entries read five keys per entry one by one).
    const targets: string[] = []
    for (const op of ops) {
      if (op.op !== 'PRUNE') continue
      for (const entry of op.entries) {
        const env = await c.read(`s!${entry}`)
        if (env !== undefined && env !== '') targets.push(env)
      }
    }
    await c.prefetch(targets.flatMap(env => [`x!${env}`, `e!${env}`, `b!${env}`]))
    const firsts = await Promise.all(targets.map(async env => await c.read(`e!${env}`)))
    await c.prefetch(firsts.flatMap(first => first === undefined ? [] : [`h!${parseFirst(first).entry}`]))
    const added = new Map<string, PendingMail>()
    const pruned: string[] = []
    let garbage = false
    let bytes = total
    /** Prune an envelope: every entry that carries it, pending or still to come. */
    const prune = async (env: string): Promise<void> => {
      if (await c.read(`x!${env}`) !== undefined) return
      const first = await c.read(`e!${env}`)
      if (first !== undefined) added.delete(parseFirst(first).entry)
      bytes -= await dropPending(c, env)
      c.set(`x!${env}`, '')
      c.set(`g!${env}`, '')
      pruned.push(env)
      garbage = true
    }
    for (const op of ops) {
      if (await c.read(`s!${op.hash}`) !== undefined) continue
      if (op.op === 'MAIL') {
        c.set(`s!${op.hash}`, op.env)
        const fresh = await c.read(`e!${op.env}`) === undefined
        if (fresh) c.set(`e!${op.env}`, JSON.stringify({ entry: op.hash, seen: time } satisfies FirstEntry))
        if (await c.read(`x!${op.env}`) !== undefined) {
          // A pruned envelope stays pruned; a block stored with this entry goes again.
          if (op.held !== undefined) { c.set(`g!${op.env}`, ''); garbage = true }
          continue
        }
        if (op.held !== undefined && await c.read(`b!${op.env}`) === undefined) {
          // A replay's block, stored with it, is the pending mail's block: counted from now on.
          if (!fresh && await isPending(c, op.env)) bytes += op.held
          c.set(`b!${op.env}`, String(op.held))
        }
        if (await c.read(`p!${op.hash}`) !== undefined) { await prune(op.env); continue }
        if (!fresh) continue // a replayed envelope: its first entry is the pending one
        const mail: PendingMail = { hash: op.hash, env: op.env, size: op.size, ts: op.ts, seen: time }
        const key = pendingKey(time, op.hash)
        c.set(key, JSON.stringify(mail))
        c.set(`h!${op.hash}`, key)
        c.added(time)
        added.set(op.hash, mail)
        bytes += Number(await c.read(`b!${op.env}`) ?? 0)
      } else {
        c.set(`s!${op.hash}`, '')
        for (const target of op.entries) {
          c.set(`p!${target}`, '')
          let env = await c.read(`s!${target}`)
          if (env === '') {
            // An index written before s! kept envelopes: the pending mail itself says.
            const key = await c.read(`h!${target}`)
            const value = key === undefined ? undefined : await c.read(key)
            env = value === undefined ? undefined : parsePending(value).env
          }
          if (env !== undefined && env !== '') await prune(env)
        }
      }
    }
    c.set('t!', String(bytes))
    await write(c)
    // After the write: a read of e! that began before it may still answer "none".
    applied++
    total = bytes
    for (const op of ops) {
      seenCache.set(op.hash, true)
      if (op.op !== 'MAIL') continue
      noEntry.delete(op.env)
      const first = c.overlay.get(`e!${op.env}`)
      if (typeof first === 'string') firstCache.set(op.env, parseFirst(first))
    }
    return { added: [...added.values()], pruned, garbage }
  }

  const firstEntry = async (env: string): Promise<FirstEntry | undefined> => {
    const cached = firstCache.get(env)
    if (cached !== undefined || noEntry.has(env)) return cached
    const before = applied
    const value = await get(`e!${env}`)
    if (value === undefined) {
      if (applied === before) noEntry.set(env, true)
      return undefined
    }
    const first = parseFirst(value)
    firstCache.set(env, first)
    return first
  }

  // Pending mail is found from its first entry (h!, then m!); pruned or expired mail has neither.
  const pendingSize = async (env: string): Promise<number | undefined> => {
    const first = await firstEntry(env)
    const key = first === undefined ? undefined : await get(`h!${first.entry}`)
    const value = key === undefined ? undefined : await get(key)
    return value === undefined ? undefined : parsePending(value).size
  }

  const envelopeStates = async (envs: string[]): Promise<Array<{ wanted: boolean, size?: number }>> => {
    const c = changes()
    await c.prefetch(envs.flatMap(env => [`e!${env}`, `x!${env}`]))
    const firsts = await Promise.all(envs.map(async env => { const first = await c.read(`e!${env}`); return first === undefined ? undefined : parseFirst(first) }))
    await c.prefetch(firsts.flatMap(first => first === undefined ? [] : [`h!${first.entry}`]))
    const keys = await Promise.all(firsts.map(async first => first === undefined ? undefined : await c.read(`h!${first.entry}`)))
    await c.prefetch(keys.filter(key => key !== undefined))
    return await Promise.all(envs.map(async (env, i) => {
      const value = keys[i] === undefined ? undefined : await c.read(keys[i])
      return { wanted: firsts[i] !== undefined && await c.read(`x!${env}`) === undefined, size: value === undefined ? undefined : parsePending(value).size }
    }))
  }

  const heldMany = async (blocks: Array<{ env: string, bytes: number }>): Promise<boolean> => {
    const c = changes()
    await c.prefetch(blocks.flatMap(({ env }) => [`b!${env}`, `x!${env}`, `e!${env}`]))
    // isPending reads h!<first entry> next: fetched together too.
    const firsts = await Promise.all(blocks.map(async ({ env }) => await c.read(`e!${env}`)))
    await c.prefetch(firsts.flatMap(first => first === undefined ? [] : [`h!${parseFirst(first).entry}`]))
    let garbage = false
    let bytes = total
    for (const { env, bytes: size } of blocks) {
      if (await c.read(`b!${env}`) !== undefined) continue
      if (await c.read(`x!${env}`) !== undefined) {
        c.set(`g!${env}`, '')
        garbage = true
        continue
      }
      c.set(`b!${env}`, String(size))
      if (await isPending(c, env)) bytes += size
    }
    c.set('t!', String(bytes))
    await write(c)
    total = bytes
    return garbage
  }

  const pending = async (): Promise<PendingMail[]> => {
    const mails: PendingMail[] = []
    for await (const value of space.values({ ...PENDING_KEYS, reverse: true })) mails.push(parsePending(value))
    return mails
  }

  const lacking = async (): Promise<string[]> => {
    if (tally.n === 0) return []
    const envs = (await pending()).map(mail => mail.env)
    const held = await space.getMany(envs.map(env => `b!${env}`))
    return envs.filter((_, i) => held[i] === undefined)
  }

  const expire = async (before: number): Promise<string[]> => {
    const c = changes()
    const expired: PendingMail[] = []
    for await (const value of space.values({ gt: 'm!', lt: pendingKey(before, '') })) expired.push(parsePending(value))
    await c.prefetch(expired.flatMap(m => [`e!${m.env}`, `b!${m.env}`, `h!${m.hash}`]))
    let bytes = total
    for (const mail of expired) {
      bytes -= await dropPending(c, mail.env)
      c.set(`x!${mail.env}`, '')
      c.set(`g!${mail.env}`, '')
    }
    c.set('t!', String(bytes))
    await write(c)
    total = bytes
    return expired.map(m => m.env)
  }

  const garbage = async (): Promise<string[]> => {
    if (!tally.g) return []
    const envs: string[] = []
    for await (const key of space.keys({ gt: 'g!', lt: 'g"' })) envs.push(key.slice(2))
    // Found empty: not walked again (written with the next batch).
    if (envs.length === 0) tally = { ...tally, g: false }
    return envs
  }

  const summary = async (): Promise<PendingSummary> => {
    // The span unknown (an end of it was dropped): its two ends read, and kept until it changes.
    if (tally.n > 0 && tally.o === undefined) {
      const ends = async (reverse: boolean): Promise<number | undefined> => {
        for await (const key of space.keys({ ...PENDING_KEYS, reverse, limit: 1 })) return seenOfKey(key)
        return undefined
      }
      const [o, l] = [await ends(false), await ends(true)]
      if (o !== undefined && l !== undefined) tally = { ...tally, o, l }
    }
    return { count: tally.n, bytes: total, ...(tally.o === undefined ? {} : { oldest: tally.o, newest: tally.l }) }
  }

  return {
    seen: async (hash) => {
      if (seenCache.has(hash)) return true
      const seen = await get(`s!${hash}`) !== undefined
      if (seen) seenCache.set(hash, true)
      return seen
    },
    wantsEnvelope: async (env) => await firstEntry(env) !== undefined && await get(`x!${env}`) === undefined,
    firstEntry,
    pendingSize,
    held: async (env, bytes) => await heldMany([{ env, bytes }]),
    heldMany,
    envelopeStates,
    apply,
    pending,
    pendingBytes: async () => total,
    expire,
    garbage,
    summary,
    lacking,
    collected: async (envs) => {
      const c = changes()
      for (const env of envs) c.set(`g!${env}`, null)
      // What garbage() listed was the whole queue (both run in the mailbox's serial queue): it is empty now.
      c.tally.g = false
      await write(c)
    }
  }
}
