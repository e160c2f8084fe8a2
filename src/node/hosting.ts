/**
 * Hosting: the inboxes this node keeps for friends, each under a grant from its owner
 * (docs/PROTOCOL.md §11.1, docs/DESIGN.md §1 "Hosts"). Grants are kept in the home and every granted
 * inbox is opened again at start, replicated over /ipms/sync and open to deliveries.
 *
 *   <home>/hosting/<owner peer-id>.json   { grant: "ipmsgrant…", bits, card?: "ipmscard…" }
 *
 * An inbox is served (to deliveries and to other replicas, with this node's grant shown) only
 * while its grant is valid: an expired grant makes `inboxFor` answer undefined, so deliveries get
 * ERR_NOT_HOSTED. Nothing else is deleted: the owner may send a new grant.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeJsonSynced } from '../util/durable-files.ts'
import { concurrencyLimit } from '../util/concurrency-limit.ts'
import { DEFAULT_POW_BITS } from '../constants.ts'
import { DEFAULT_HOST_POLICY } from './host-policy.ts'
import { encodeCard, verifyCard, type AddressCard, type CardHost } from '../hosting/card.ts'
import { encodeGrant, verifyGrant, type Grant } from '../hosting/grant.ts'
import { openInbox, type Inbox } from '../stores/open-inbox.ts'
import type { IpmsNode } from './create-node.ts'
import { dialCardHost } from './dial-host.ts'
import type { InboxSync } from './sync.ts'

export interface HostingOptions {
  node: IpmsNode
  sync: InboxSync
  /** The clock grants are judged by, ms (tests move it). Default Date.now. */
  now?: () => number
}

interface Hosted {
  grant: Grant
  inbox: Inbox
  /** The owner's newest card known here (republished on the DHT while valid). */
  card?: AddressCard
  /** The owner's other hosts (from the card), to replicate with. */
  coHosts: CardHost[]
}

export interface Hosting {
  /**
   * Accept a grant for this node: checked, kept in the home, its inbox opened and served. With the
   * owner's address card, the inbox's difficulty comes from it and the card's other hosts become
   * this inbox's co-hosts: this node syncs with them now and at every start.
   */
  accept: (grantText: string, options?: { bits?: number, card?: string }) => Promise<Inbox>
  /** Sync every hosted inbox with its co-hosts (best effort); the outcomes. */
  syncCoHosts: (options?: { signal?: AbortSignal }) => Promise<Array<{ inbox: string, host: string, ok: boolean, error?: string }>>
  /** Host the grants kept in the home since start (`ipms host accept` while a daemon runs); the new inboxes. */
  reload: () => Promise<Inbox[]>
  /** The inboxes kept here, with their grants. */
  list: () => Array<{ owner: string, bits: number, expires?: number, inbox: Inbox, card?: AddressCard }>
  /** The inbox at `address` if it is kept here under a valid grant (for deliveries). */
  inboxFor: (address: string) => Inbox | undefined
  /** This node's grant for `inbox` (shown to other replicas when syncing). */
  grantFor: (inbox: Inbox) => Grant | undefined
  /** Grants that could not be loaded at start (expired, damaged), with why. */
  skipped: Array<{ file: string, reason: string }>
  /** Drop, in every hosted inbox, pending mail older than the retention period; returns the count. */
  applyRetention: (retentionMs?: number) => Promise<number>
}

/** Grant files read at once. */
const GRANT_READS_AT_ONCE = 16

/** One kept grant file. */
interface KeptGrant { grant: string, bits: number, card?: string }

/** Where a home keeps the grants it accepted. */
export const hostingDirectory = (home: string): string => join(home, 'hosting')

/**
 * Check a grant for `hostPeer` and keep it in the home (atomically: a crash leaves the old grant
 * or the new one). The inbox difficulty comes from the owner's card, else `bits`, else the default.
 * Needs no running node: a running host picks the file up with `reload`.
 */
export async function keepGrant (home: string, hostPeer: string, grantText: string, options: { bits?: number, card?: string, now?: number } = {}): Promise<{ grant: Grant, bits: number, card?: string }> {
  const grant = verifyGrant(grantText, { host: hostPeer, now: options.now ?? Date.now() })
  const card = options.card === undefined ? undefined : verifyCard(options.card, { owner: grant.owner })
  const bits = card?.bits ?? options.bits ?? DEFAULT_POW_BITS
  const directory = hostingDirectory(home)
  await mkdir(directory, { recursive: true, mode: 0o700 })
  const kept: KeptGrant = { grant: encodeGrant(grant), bits }
  if (card !== undefined) kept.card = encodeCard(card)
  await writeJsonSynced(directory, `${grant.owner}.json`, kept)
  return { grant, bits, card: kept.card }
}

/** Open every inbox this node keeps under a grant, and keep accepting grants. */
export async function openHosting (options: HostingOptions): Promise<Hosting> {
  const { node, sync } = options
  const now = options.now ?? Date.now
  const directory = hostingDirectory(node.home)
  await mkdir(directory, { recursive: true, mode: 0o700 })
  const hosted = new Map<string, Hosted>() // by inbox address
  const skipped: Hosting['skipped'] = []

  const host = async (grant: Grant, bits: number, cardText: string | undefined): Promise<Inbox> => {
    const card = cardText === undefined ? undefined : verifyCard(cardText, { owner: grant.owner })
    const coHosts = card === undefined ? [] : card.hosts.filter(h => h.peer !== node.peerId)
    const inbox = await openInbox(node.orbitdb, grant.owner, bits)
    if (!hosted.has(inbox.address)) await sync.register(inbox)
    hosted.set(inbox.address, { grant, inbox, coHosts, card })
    // The owner and its other hosts always find room here, and are never closed for being idle.
    await Promise.all([grant.owner, ...coHosts.map(h => h.peer)].map(async peer => { await node.protect(peer) }))
    return inbox
  }

  /** Host every grant kept in the directory that is not hosted yet (at start, and on `reload`). */
  const loadKept = async (): Promise<Inbox[]> => {
    const added: Inbox[] = []
    skipped.length = 0
    for (const read of await readKeptGrants(directory)) {
      const file = read.file
      try {
        if ('error' in read) throw new Error(read.error)
        const { grant: text, bits, card } = read.kept
        const grant = verifyGrant(text, { host: node.peerId, now: now() })
        const current = [...hosted.values()].find(h => h.grant.owner === grant.owner)
        if (current !== undefined && current.grant.issued >= grant.issued && current.inbox.bits === bits) continue
        added.push(await host(grant, bits, card))
      } catch (err) {
        skipped.push({ file, reason: (err as Error).message })
      }
    }
    return added
  }
  await loadKept()

  const syncCoHosts: Hosting['syncCoHosts'] = async (syncOptions = {}) => {
    const outcomes: Awaited<ReturnType<Hosting['syncCoHosts']>> = []
    for (const { inbox, coHosts } of hosted.values()) {
      for (const coHost of coHosts) {
        try {
          await dialCardHost(async (address, signal) => { await node.dial(address, { signal }) }, coHost, syncOptions.signal)
          await sync.syncWith(coHost.peer, inbox, { signal: syncOptions.signal })
          outcomes.push({ inbox: inbox.address, host: coHost.peer, ok: true })
        } catch (err) {
          outcomes.push({ inbox: inbox.address, host: coHost.peer, ok: false, error: (err as Error).message })
        }
      }
    }
    return outcomes
  }

  const valid = (entry: Hosted | undefined): entry is Hosted =>
    entry !== undefined && (entry.grant.expires === undefined || entry.grant.expires > now())

  return {
    accept: async (grantText, acceptOptions = {}) => {
      const { grant, bits, card } = await keepGrant(node.home, node.peerId, grantText, { ...acceptOptions, now: now() })
      return await host(grant, bits, card)
    },
    reload: loadKept,
    list: () => [...hosted.values()].map(({ grant, inbox, card }) => ({ owner: grant.owner, bits: inbox.bits, expires: grant.expires, inbox, card })),
    inboxFor: (address) => {
      const entry = hosted.get(address)
      return valid(entry) ? entry.inbox : undefined
    },
    grantFor: (inbox) => {
      const entry = hosted.get(inbox.address)
      return valid(entry) ? entry.grant : undefined
    },
    skipped,
    syncCoHosts,
    applyRetention: async (retentionMs = DEFAULT_HOST_POLICY.retentionMs) => {
      let dropped = 0
      for (const { inbox } of hosted.values()) dropped += (await inbox.expireBefore(now() - retentionMs)).length
      return dropped
    }
  }
}

/** The grants kept in a home (for `ipms host list`), read without starting a node; damaged files are reported. */
export async function listKeptGrants (home: string): Promise<Array<{ owner: string, bits: number, issued: number, expires?: number, coHosts: number } | { file: string, error: string }>> {
  return (await readKeptGrants(hostingDirectory(home))).map(read => {
    if ('error' in read) return read
    try {
      const { grant: text, bits, card } = read.kept
      const grant = verifyGrant(text)
      const coHosts = card === undefined ? 0 : verifyCard(card).hosts.length - 1
      return { owner: grant.owner, bits, issued: grant.issued, ...(grant.expires === undefined ? {} : { expires: grant.expires }), coHosts: Math.max(0, coHosts) }
    } catch (err) {
      return { file: read.file, error: (err as Error).message }
    }
  })
}

/** The grant files of a hosting directory, parsed, in name order (or why one could not be read); none when it does not exist. */
async function readKeptGrants (directory: string): Promise<Array<{ file: string, kept: KeptGrant } | { file: string, error: string }>> {
  let files: string[]
  try {
    files = (await readdir(directory)).filter(f => f.endsWith('.json') && !f.startsWith('.')).sort()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  // A few files open at a time: thousands at once fail with EMFILE under a host's `ulimit -n`.
  const reads = concurrencyLimit(GRANT_READS_AT_ONCE)
  return await Promise.all(files.map(async file => {
    try {
      return { file, kept: JSON.parse(await reads.run(async () => await readFile(join(directory, file), 'utf8'))) as KeptGrant }
    } catch (err) {
      return { file, error: (err as Error).message }
    }
  }))
}
