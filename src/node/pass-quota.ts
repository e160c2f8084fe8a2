/**
 * A host's quota decision for one delivery, and the accounting of contacts' passes behind it
 * (docs/PROTOCOL.md §11.3 and §12). Strangers share one quota per inbox (`quotaBytes`); a delivery
 * that shows a valid pass of the inbox's owner counts against that pass's own share
 * (`passQuotaBytes`, and `passesQuotaBytes` for all the inbox's passes together) instead, so that
 * strangers filling their quota never lock out the owner's contacts.
 *
 * The ledger, `env → { pass id, size }` per inbox, is kept in a small LevelDB of the node
 * (`<home>/passes`), written before the envelope is appended, and released when the inbox announces
 * the envelope `pruned` or `expired`. At the first delivery into an inbox after a start, records
 * whose mail is no longer pending (pruned while this node was down, or a crash between the record
 * and the append) are dropped: a restart neither forgets a pass's use nor keeps a stale one.
 *
 * Watch for: `admit` decides and reserves in one synchronous step (no await between the decision
 * and the reservation), or concurrent deliveries would all pass; a pass never makes a delivery
 * worse off than a stranger's (a full share falls back to the strangers' quota).
 */
import { Level } from 'level'
import { PassExpiredError, type Problem } from '../errors.ts'
import { passIdText, verifyPass } from '../hosting/pass.ts'
import type { Inbox } from '../stores/inbox.ts'
import type { HostPolicy } from './host-policy.ts'
import { isBytes } from '../util/fields.ts'

/** A refusal: the code and the reason sent to the sender. */
export type Refusal = Problem<'ERR_OVER_QUOTA' | 'ERR_BAD_PASS' | 'ERR_PASS_EXPIRED'>

/** What one delivery would add to, as far as the quota decision needs it. */
export interface QuotaUse {
  /** Envelope size, bytes. */
  size: number
  /** Bytes of strangers' mail held for the inbox here, with those being written. */
  strangers: number
  /** With a valid pass: bytes held under this pass, and under all the inbox's passes. */
  pass?: { own: number, all: number }
}

/** Which share a delivery counts against: its pass's, or the strangers' quota. Pure, never throws. */
export function quotaDecision (use: QuotaUse, policy: Pick<HostPolicy, 'quotaBytes' | 'passQuotaBytes' | 'passesQuotaBytes'>): 'pass' | 'strangers' | Refusal {
  const { size, strangers, pass } = use
  if (pass !== undefined && pass.own + size <= policy.passQuotaBytes && pass.all + size <= policy.passesQuotaBytes) return 'pass'
  if (strangers + size <= policy.quotaBytes) return 'strangers'
  if (pass !== undefined) {
    return { code: 'ERR_OVER_QUOTA', message: `the pass holds ${pass.own} bytes here (its share is ${policy.passQuotaBytes}; all passes ${pass.all} of ${policy.passesQuotaBytes}), and strangers' mail fills the inbox's quota: its owner must read their mail first` }
  }
  return { code: 'ERR_OVER_QUOTA', message: `the inbox holds ${strangers} bytes here, its quota is ${policy.quotaBytes}: its owner must read their mail first` }
}

/** An admitted delivery: run its write through `write`, which keeps the accounting right whatever happens. */
export interface Admission {
  /** The share it counts against. */
  share: 'pass' | 'strangers'
  /** Run the append (`inbox.addMail`): the pass's record is on disk before it, and dropped if it fails. */
  write: <T>(append: () => Promise<T>) => Promise<T>
}

interface Held { pass: string, size: number, written: boolean }

/** One inbox's accounting. */
interface Shares {
  byEnv: Map<string, Held>
  /** Bytes per pass id, being written included. */
  byPass: Map<string, number>
  /** Bytes of all passes, being written included. */
  all: number
  /** Bytes of pass mail written (part of the inbox's pending bytes). */
  written: number
  /** Bytes of strangers' deliveries being written. */
  strangersWriting: number
  tracked: Promise<void> | undefined
  /** The inbox object listened to (weakly: a closed inbox is not kept alive here); a host reopens an inbox closed while idle, as a new object. */
  trackedInbox?: WeakRef<Inbox>
  off?: () => void
}

export interface PassQuota {
  /**
   * Decide and reserve for one delivery of `size` bytes (envelope `env`) into `inbox`, which holds
   * `held` bytes of pending mail here; `pass` is the id (hex) of a pass already checked. Call
   * `ready(inbox)` first, then compute `held`, then this, with no await in between.
   */
  admit: (inbox: Inbox, use: { env: string, size: number, held: number, pass?: string }) => Admission | Refusal
  /** Load the inbox's accounting (once per start: drops records of mail no longer pending, follows prunes). */
  ready: (inbox: Inbox) => Promise<void>
  /** Bytes held here under one pass of an inbox (tests, `ipms host list`). */
  used: (inbox: string, pass: string) => number
  close: () => Promise<void>
}

/** The ledger's storage: LevelDB at `path`, or memory only (accounting lost on restart). */
interface LedgerStore {
  entries: () => AsyncIterable<[string, string]>
  put: (key: string, value: string) => Promise<void>
  del: (key: string) => Promise<void>
  close: () => Promise<void>
}

async function levelStore (path: string): Promise<LedgerStore> {
  const db = new Level<string, string>(path, { valueEncoding: 'utf8' })
  await db.open()
  return { entries: () => db.iterator(), put: async (k, v) => { await db.put(k, v) }, del: async (k) => { await db.del(k) }, close: async () => { await db.close() } }
}

function memoryStore (): LedgerStore {
  const map = new Map<string, string>()
  return {
    entries: async function * () { yield * map.entries() },
    put: async (k, v) => { map.set(k, v) },
    del: async (k) => { map.delete(k) },
    close: async () => {}
  }
}

// Inbox addresses (`/orbitdb/zdpu…`) have no '!'.
const ledgerKey = (inbox: string, env: string): string => `${inbox}!${env}`

/** Open the pass accounting of a node: on disk at `path` (a LevelDB directory), else in memory. */
export async function openPassQuota (policy: Pick<HostPolicy, 'quotaBytes' | 'passQuotaBytes' | 'passesQuotaBytes'>, path?: string): Promise<PassQuota> {
  const store = path === undefined ? memoryStore() : await levelStore(path)
  const inboxes = new Map<string, Shares>()
  const sharesOf = (inbox: string): Shares => {
    let shares = inboxes.get(inbox)
    if (shares === undefined) {
      shares = { byEnv: new Map(), byPass: new Map(), all: 0, written: 0, strangersWriting: 0, tracked: undefined }
      inboxes.set(inbox, shares)
    }
    return shares
  }
  const add = (shares: Shares, env: string, held: Held): void => {
    shares.byEnv.set(env, held)
    shares.byPass.set(held.pass, (shares.byPass.get(held.pass) ?? 0) + held.size)
    shares.all += held.size
    if (held.written) shares.written += held.size
  }
  const remove = (shares: Shares, env: string): boolean => {
    const held = shares.byEnv.get(env)
    if (held === undefined) return false
    shares.byEnv.delete(env)
    const left = (shares.byPass.get(held.pass) ?? 0) - held.size
    if (left > 0) shares.byPass.set(held.pass, left)
    else shares.byPass.delete(held.pass)
    shares.all -= held.size
    if (held.written) shares.written -= held.size
    return true
  }

  for await (const [key, value] of store.entries()) {
    const at = key.lastIndexOf('!')
    const { pass, size } = JSON.parse(value) as { pass: string, size: number }
    add(sharesOf(key.slice(0, at)), key.slice(at + 1), { pass, size, written: true })
  }

  const release = async (inbox: string, env: string): Promise<void> => {
    if (remove(sharesOf(inbox), env)) await store.del(ledgerKey(inbox, env))
  }

  const ready = async (inbox: Inbox): Promise<void> => {
    const shares = sharesOf(inbox.address)
    if (shares.trackedInbox?.deref() !== inbox) {
      // Reopened since (or first use): listen to this object; what was pruned meanwhile is released below.
      shares.off?.()
      shares.trackedInbox = new WeakRef(inbox)
      shares.tracked = undefined
    }
    shares.tracked ??= (async () => {
      const { address, events } = inbox
      const onGone = (env: string): void => { release(address, env).catch(() => {}) }
      events.on('pruned', onGone)
      events.on('expired', onGone)
      const listened = new WeakRef(events)
      shares.off = () => { listened.deref()?.off('pruned', onGone); listened.deref()?.off('expired', onGone) }
      for (const [env, held] of [...shares.byEnv]) {
        if (held.written && !await inbox.wantsEnvelope(env)) await release(inbox.address, env)
      }
    })()
    await shares.tracked
  }

  const admit: PassQuota['admit'] = (inbox, use) => {
    const shares = sharesOf(inbox.address)
    // A replay of an envelope already counted against a pass adds no pending bytes.
    if (use.pass !== undefined && shares.byEnv.has(use.env)) return { share: 'pass', write: async append => await append() }
    const strangers = Math.max(0, use.held - shares.written) + shares.strangersWriting
    const pass = use.pass === undefined ? undefined : { own: shares.byPass.get(use.pass) ?? 0, all: shares.all }
    const share = quotaDecision({ size: use.size, strangers, pass }, policy)
    if (typeof share === 'object') return share
    if (share === 'strangers') {
      shares.strangersWriting += use.size
      return {
        share,
        write: async append => {
          try { return await append() } finally { shares.strangersWriting -= use.size }
        }
      }
    }
    const held: Held = { pass: use.pass!, size: use.size, written: false }
    add(shares, use.env, held)
    return {
      share,
      write: async append => {
        const key = ledgerKey(inbox.address, use.env)
        try {
          await store.put(key, JSON.stringify({ pass: held.pass, size: held.size }))
          const result = await append()
          if (shares.byEnv.get(use.env) === held) {
            held.written = true
            shares.written += held.size
          }
          return result
        } catch (err) {
          if (shares.byEnv.get(use.env) === held) await release(inbox.address, use.env).catch(() => {})
          throw err
        }
      }
    }
  }

  return {
    admit,
    ready,
    used: (inbox, pass) => inboxes.get(inbox)?.byPass.get(pass) ?? 0,
    close: async () => {
      for (const shares of inboxes.values()) shares.off?.()
      await store.close()
    }
  }
}

/**
 * The pass of a deliver request (its optional `pass` field, §12), checked against the inbox's owner
 * and the host's clock: undefined when absent, the pass id (hex) when valid, else a refusal
 * (ERR_BAD_PASS: not a pass, damaged, forged or another owner's; ERR_PASS_EXPIRED). Never throws.
 */
export function requestPass (value: unknown, owner: string, now: number): string | undefined | Refusal {
  if (value === undefined) return undefined
  if (!(isBytes(value))) return { code: 'ERR_BAD_PASS', message: 'pass must be the bytes of a pass' }
  try {
    return passIdText(verifyPass(value, { owner, now }))
  } catch (err) {
    if (err instanceof PassExpiredError) return { code: 'ERR_PASS_EXPIRED', message: err.message }
    return { code: 'ERR_BAD_PASS', message: `the pass is refused: ${(err as Error).message}` }
  }
}
