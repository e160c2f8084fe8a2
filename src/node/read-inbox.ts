/**
 * The owner's read path (docs/DESIGN.md §1, "Read"): sync the inbox from its replicas, open every pending
 * envelope, keep each mail durably in the home, then prune what was kept, so the hosts drop it.
 *
 * Order matters for "nothing lost": a mail is pruned only after it is on the owner's disk (fsync);
 * an envelope that does not open is kept whole in quarantine with the reason, and then pruned too
 * (the owner has it); an envelope whose block no replica could give yet is left pending for the
 * next read, for ENVELOPE_WAIT_MS after this node first saw its entry, and then pruned unread
 * (PROTOCOL.md §9.4): a co-host's entry whose envelope never comes cannot keep the inbox pending.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { ENVELOPE_WAIT_MS } from '../constants.ts'
import { IpmsError, NoReplicaError, StorageFullError, SyncError, type Problem } from '../errors.ts'
import type { Identity } from '../identity/identity.ts'
import type { CardHost } from '../hosting/card.ts'
import type { Contacts } from '../home/contacts.ts'
import { verifyCard } from '../hosting/card.ts'
import { openMailStore, type MailStore, type QuarantinedMail, type StoredMail } from '../mail/mail-store.ts'
import { openMail } from '../mail/seal.ts'
import type { Inbox } from '../stores/inbox.ts'
import type { IpmsNode } from './create-node.ts'
import { dialCardHost } from './dial-host.ts'
import type { InboxSync } from './sync.ts'

/** Mails opened and stored at once. */
const READ_CONCURRENCY = 16

export interface ReadInboxOptions {
  node: IpmsNode
  sync: InboxSync
  /** The owner's inbox, open on `node`. */
  inbox: Inbox
  /** The owner; only its key opens the envelopes. */
  identity: Identity
  /**
   * Replicas to sync from: multiaddrs ending in /p2p/<peer-id>, peer-ids already connected, or
   * card hosts (dialled at each of their addresses in turn).
   */
  replicas: Array<string | CardHost>
  /** Where the mail is kept. Default `openMailStore(node.home)`. */
  store?: MailStore
  /**
   * The owner's contacts: a mail that carries its sender's card (PROTOCOL §4.1) updates that
   * contact's card when newer (`learnCard`, after the mail is stored; best effort).
   */
  contacts?: Pick<Contacts, 'learnCard'>
  /** Called as each pending mail is handled (stored, quarantined or still waiting). */
  onProgress?: (handled: number, total: number) => void
  /** Append a PRUNE for what was stored (default true). */
  prune?: boolean
  /** This node's clock, ms (tests move it). Default Date.now. */
  now?: () => number
  signal?: AbortSignal
}

export interface ReplicaOutcome {
  replica: string
  ok: boolean
  /** Entries joined from it. */
  joined: number
  error?: Problem
}

export interface ReadInboxResult {
  /** Mail opened and stored in this read, newest first. */
  received: StoredMail[]
  /** Envelopes that did not open, kept aside with the reason. */
  quarantined: QuarantinedMail[]
  /** Pending mail whose envelope block is not here yet (left for the next read). */
  waiting: number
  /** Pending mail pruned unread: its envelope did not come within ENVELOPE_WAIT_MS. */
  abandoned: number
  /** Entries named by the PRUNE entries appended (stored, quarantined and abandoned mail). */
  pruned: number
  replicas: ReplicaOutcome[]
}

/**
 * Sync, open, store, prune. Throws NoReplicaError when replicas were given and none answered, and
 * StorageFullError when this node's disk is full (then nothing is pruned that was not stored).
 */
export async function readInbox (options: ReadInboxOptions): Promise<ReadInboxResult> {
  const { node, sync, inbox, identity, signal } = options
  const replicas: ReplicaOutcome[] = []
  for (const given of options.replicas) {
    signal?.throwIfAborted()
    const replica = typeof given === 'string' ? given : given.peer
    try {
      let peer = replica
      if (typeof given !== 'string') {
        await dialCardHost(async (address, dialSignal) => { await node.dial(address, { signal: dialSignal }) }, given, signal)
      } else if (replica.startsWith('/')) {
        peer = multiaddr(replica).getComponents().findLast(c => c.name === 'p2p')?.value ?? ''
        if (peer === '') throw new IpmsError('ERR_INVALID_ARGUMENT', `The replica address ${replica} does not end in /p2p/<peer-id>`)
        await node.dial(replica, { signal })
      }
      // A full disk here is this node's problem, not the replica's (StorageFullError, thrown below).
      const result = await node.storage.write(async () => {
        try {
          return await sync.syncWith(peer, inbox, { signal })
        } catch (err) {
          // A session that broke (a stream reset while the connection was still being set up, seen
          // under load) is tried once more; a refusal is an answer, not tried again.
          if (!(err instanceof SyncError) || signal?.aborted === true) throw err
          return await sync.syncWith(peer, inbox, { signal })
        }
      })
      replicas.push({ replica, ok: true, joined: result.joined })
    } catch (err) {
      if (err instanceof StorageFullError) throw err
      const error: Problem = err instanceof IpmsError ? { code: err.code, message: err.message } : { code: 'ERR_SYNC', message: (err as Error).message }
      replicas.push({ replica, ok: false, joined: 0, error })
    }
  }
  if (replicas.length > 0 && replicas.every(r => !r.ok)) {
    throw new NoReplicaError(`${replicas.length === 1 ? 'The replica' : `None of the ${replicas.length} replicas`} of ${inbox.address} could ${replicas.length === 1 ? 'not ' : ''}be synced: ${replicas.map(r => `${r.replica}: ${r.error?.message ?? ''}`).join('; ')}. Check that a host is online and holds a grant`)
  }

  const store = options.store ?? openMailStore(node.home)
  const received: StoredMail[] = []
  const quarantined: QuarantinedMail[] = []
  const stored: string[] = []
  const abandoned: string[] = []
  const now = (options.now ?? Date.now)()
  let waiting = 0
  const pendingMail = await inbox.pending()
  let next = 0
  // A few mails in flight at once: each store is mostly waiting on fsync.
  const worker = async (): Promise<void> => {
    while (next < pendingMail.length) {
      signal?.throwIfAborted()
      const pending = pendingMail[next++]!
      const envelope = await inbox.getEnvelope(pending.env)
      if (envelope === undefined) {
        if (now - pending.seen > ENVELOPE_WAIT_MS) abandoned.push(pending.hash)
        else waiting++
        continue
      }
      try {
        const mail = openMail(envelope, { identity, inbox: inbox.address })
        received.push(await store.saveReceived(pending.hash, pending.env, mail))
        // openMail checked the card is the sender's; a damaged contacts file must not stop the read.
        if (mail.card !== undefined) await options.contacts?.learnCard(verifyCard(mail.card)).catch(() => {})
      } catch (err) {
        if (!(err instanceof IpmsError)) throw err
        quarantined.push(await store.saveQuarantined(pending.hash, pending.env, envelope, err.code, err.message))
      }
      stored.push(pending.hash)
      options.onProgress?.(received.length + quarantined.length + waiting, pendingMail.length)
    }
  }
  // A full disk stops the read before the prune: nothing is pruned that is not stored.
  await node.storage.write(async () => await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, pendingMail.length) }, worker)))
  received.sort((a, b) => b.mail.date - a.mail.date)
  // Every stored mail is on disk, renames included, before the hosts are told to drop it.
  if (stored.length > 0) await node.storage.write(async () => { await store.flush() })
  const toPrune = [...stored, ...abandoned]
  if (options.prune !== false && toPrune.length > 0) await inbox.prune(toPrune, identity.seed)
  if (options.prune === false) return { received, quarantined, waiting: waiting + abandoned.length, abandoned: 0, pruned: 0, replicas }
  return { received, quarantined, waiting, abandoned: abandoned.length, pruned: toPrune.length, replicas }
}
