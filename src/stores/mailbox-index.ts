/**
 * The mailbox index: which mail of an inbox log is still pending, kept in LevelDB beside the log so
 * that `pending()` never walks the log, and survives restarts (docs/ARCHITECTURE.md, stores).
 *
 * Keys (one LevelDB, UTF-8 keys, JSON values):
 *   s!<entry>             seen: this entry has been applied
 *   e!<env>               <entry>: the first MAIL entry that carried this envelope (later ones are replays)
 *   p!<entry>             a PRUNE listed this entry (it may arrive before the entry itself)
 *   x!<env>               this envelope is pruned (whichever entry carried it)
 *   m!<ts:16>!<entry>     { hash, env, size, ts }: pending mail, ordered by delivery time
 *   h!<entry>             <m! key>: where a pending mail is, to drop it on prune
 *   g!<env>               envelope to delete from the blockstore (a crash-safe GC queue)
 *   t!                    total bytes of pending envelopes (kept in the same batches)
 *
 * Watch for: a batch of entries is applied in one LevelDB batch, entries marked seen together with
 * their effects, so a crash leaves either all of a catch-up or none of it. The keys a batch of mail
 * reads are fetched in one `getMany`, and the byte total is kept in memory as well (this index is
 * its only writer), because each LevelDB read is a thread-pool round trip. Entries are applied in
 * causal order (Lamport time, then hash), so every replica keeps the same first entry of a replayed
 * envelope.
 */
import { Level } from 'level'
import type { StorageHealth } from './storage-health.ts'

/** One pending mail as the index keeps it. */
export interface PendingMail {
  /** Hash of the MAIL entry (what a PRUNE lists). */
  hash: string
  /** Envelope CID string. */
  env: string
  /** Envelope size, bytes. */
  size: number
  /** Delivery time, ms since the epoch. */
  ts: number
}

/** An entry to apply: a MAIL or a PRUNE, already accepted by the access controller. */
export type IndexedOp =
  | { hash: string, op: 'MAIL', env: string, size: number, ts: number }
  | { hash: string, op: 'PRUNE', entries: string[] }

export interface ApplyResult {
  /** Mail that became pending. */
  added: PendingMail[]
  /** Envelopes that became pruned (their blocks are queued for deletion). */
  pruned: string[]
}

const pendingKey = (ts: number, hash: string): string => `m!${String(ts).padStart(16, '0')}!${hash}`

/** Entry hashes remembered as applied, to spare a read when a walk reaches them again. */
const SEEN_CACHE_SIZE = 4096

export interface MailboxIndex {
  /** True when the entry has been applied. */
  seen: (hash: string) => Promise<boolean>
  /** Apply entries (any order; sorted causally by the caller) in one atomic batch. */
  apply: (ops: IndexedOp[]) => Promise<ApplyResult>
  /** Pending mail, newest first. */
  pending: () => Promise<PendingMail[]>
  /** Total bytes of the pending mail's envelopes (a host's quota), without walking the mail. */
  pendingBytes: () => Promise<number>
  /** True when a MAIL entry of this log carries `env` and it is not pruned: its block is wanted. */
  wantsEnvelope: (env: string) => Promise<boolean>
  /**
   * Drop pending mail delivered before `before` (ms), a host's retention policy: local to this
   * replica, not an entry of the log. Returns the envelopes queued for deletion.
   */
  expire: (before: number) => Promise<string[]>
  /** Envelopes waiting to be deleted from the blockstore. */
  garbage: () => Promise<string[]>
  /** Forget a deleted envelope from the GC queue. */
  collected: (env: string) => Promise<void>
  close: () => Promise<void>
}

export async function openMailboxIndex (path: string, options: { health?: StorageHealth } = {}): Promise<MailboxIndex> {
  const db = new Level<string, string>(path, { valueEncoding: 'utf8' })
  await db.open()
  // Reopened by the node after a full disk (LevelDB's write errors are sticky until then).
  const untrack = options.health?.track(db)

  const get = async (key: string): Promise<string | undefined> => (await db.get(key)) ?? undefined
  /** Total bytes of pending envelopes, as last written under t!. */
  let total = Number(await get('t!') ?? 0)
  /** Applied entries (a positive cache: an entry once seen stays seen). */
  const seenCache = new Set<string>()
  const remember = (hash: string): void => {
    if (seenCache.size >= SEEN_CACHE_SIZE) seenCache.delete(seenCache.values().next().value as string)
    seenCache.add(hash)
  }

  const apply = async (ops: IndexedOp[]): Promise<ApplyResult> => {
    // Writes of this batch, read back before LevelDB has them (null = deleted).
    const overlay = new Map<string, string | null>()
    // What a MAIL reads, fetched at once.
    const keys = ops.flatMap(op => op.op === 'MAIL' ? [`s!${op.hash}`, `e!${op.env}`, `p!${op.hash}`, `x!${op.env}`] : [])
    const fetched = new Map<string, string | undefined>()
    if (keys.length > 0) (await db.getMany(keys)).forEach((value, i) => fetched.set(keys[i]!, value ?? undefined))
    const read = async (key: string): Promise<string | undefined> => {
      if (overlay.has(key)) return overlay.get(key) ?? undefined
      if (fetched.has(key)) return fetched.get(key)
      return await get(key)
    }
    const added = new Map<string, PendingMail>()
    const pruned: string[] = []
    let bytes = total
    const prune = (env: string): void => {
      overlay.set(`x!${env}`, '')
      overlay.set(`g!${env}`, '')
      pruned.push(env)
    }
    for (const op of ops) {
      if (await read(`s!${op.hash}`) !== undefined) continue
      overlay.set(`s!${op.hash}`, '')
      if (op.op === 'MAIL') {
        if (await read(`e!${op.env}`) !== undefined) continue // a replayed envelope
        overlay.set(`e!${op.env}`, op.hash)
        if (await read(`p!${op.hash}`) !== undefined || await read(`x!${op.env}`) !== undefined) {
          if (await read(`x!${op.env}`) === undefined) prune(op.env)
          continue
        }
        const mail: PendingMail = { hash: op.hash, env: op.env, size: op.size, ts: op.ts }
        const key = pendingKey(op.ts, op.hash)
        overlay.set(key, JSON.stringify(mail))
        overlay.set(`h!${op.hash}`, key)
        added.set(op.hash, mail)
        bytes += op.size
      } else {
        for (const target of op.entries) {
          overlay.set(`p!${target}`, '')
          const key = await read(`h!${target}`)
          if (key === undefined) continue
          const mail = JSON.parse((await read(key))!) as PendingMail
          overlay.set(key, null)
          overlay.set(`h!${target}`, null)
          added.delete(target)
          bytes -= mail.size
          if (await read(`x!${mail.env}`) === undefined) prune(mail.env)
        }
      }
    }
    overlay.set('t!', String(bytes))
    const batch = db.batch()
    for (const [key, value] of overlay) {
      if (value === null) batch.del(key)
      else batch.put(key, value)
    }
    await batch.write()
    total = bytes
    for (const op of ops) remember(op.hash)
    return { added: [...added.values()], pruned }
  }

  const pending = async (): Promise<PendingMail[]> => {
    const mails: PendingMail[] = []
    for await (const value of db.values({ gt: 'm!', lt: 'm"', reverse: true })) mails.push(JSON.parse(value) as PendingMail)
    return mails
  }

  const expire = async (before: number): Promise<string[]> => {
    const batch = db.batch()
    const envs: string[] = []
    let bytes = total
    for await (const [key, value] of db.iterator({ gt: 'm!', lt: pendingKey(Math.max(0, before), '') })) {
      const mail = JSON.parse(value) as PendingMail
      bytes -= mail.size
      batch.del(key)
      batch.del(`h!${mail.hash}`)
      batch.put(`x!${mail.env}`, '')
      batch.put(`g!${mail.env}`, '')
      envs.push(mail.env)
    }
    batch.put('t!', String(bytes))
    await batch.write()
    total = bytes
    return envs
  }

  const garbage = async (): Promise<string[]> => {
    const envs: string[] = []
    for await (const key of db.keys({ gt: 'g!', lt: 'g"' })) envs.push(key.slice(2))
    return envs
  }

  return {
    seen: async (hash) => {
      if (seenCache.has(hash)) return true
      const seen = await get(`s!${hash}`) !== undefined
      if (seen) remember(hash)
      return seen
    },
    wantsEnvelope: async (env) => await get(`e!${env}`) !== undefined && await get(`x!${env}`) === undefined,
    apply,
    pending,
    pendingBytes: async () => total,
    expire,
    garbage,
    collected: async (env) => { await db.del(`g!${env}`) },
    close: async () => { untrack?.(); await db.close() }
  }
}
