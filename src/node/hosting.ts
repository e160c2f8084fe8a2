/**
 * Hosting: the inboxes this node keeps for friends, each under a grant from its owner
 * (docs/PROTOCOL.md §11.1, DESIGN.md §1 "Hosts"). Grants are kept in the home and every granted
 * inbox is opened again at start, replicated over /ipms/sync and open to deliveries.
 *
 *   <home>/hosting/<owner peer-id>.json   { grant: "ipmsgrant…", bits, card?: "ipmscard…" }
 *
 * An inbox is served (to deliveries and to other replicas, with this node's grant shown) only
 * while its grant is valid: an expired grant makes `inboxFor` answer undefined, so deliveries get
 * ERR_NOT_HOSTED. Nothing else is deleted: the owner may send a new grant.
 */
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { DEFAULT_POW_BITS } from '../constants.ts'
import { DEFAULT_HOST_POLICY } from './host-policy.ts'
import { encodeCard, verifyCard, type CardHost } from '../hosting/card.ts'
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
  /** The inboxes kept here, with their grants. */
  list: () => Array<{ owner: string, bits: number, expires?: number, inbox: Inbox }>
  /** The inbox at `address` if it is kept here under a valid grant (for deliveries). */
  inboxFor: (address: string) => Inbox | undefined
  /** This node's grant for `inbox` (shown to other replicas when syncing). */
  grantFor: (inbox: Inbox) => Grant | undefined
  /** Grants that could not be loaded at start (expired, damaged), with why. */
  skipped: Array<{ file: string, reason: string }>
  /** Drop, in every hosted inbox, pending mail older than the retention period; returns the count. */
  applyRetention: (retentionMs?: number) => Promise<number>
}

/** Open every inbox this node keeps under a grant, and keep accepting grants. */
export async function openHosting (options: HostingOptions): Promise<Hosting> {
  const { node, sync } = options
  const now = options.now ?? Date.now
  const directory = join(node.home, 'hosting')
  await mkdir(directory, { recursive: true, mode: 0o700 })
  const hosted = new Map<string, Hosted>() // by inbox address
  const skipped: Hosting['skipped'] = []

  const host = async (grant: Grant, bits: number, coHosts: CardHost[]): Promise<Inbox> => {
    const inbox = await openInbox(node.orbitdb, grant.owner, bits)
    if (!hosted.has(inbox.address)) await sync.register(inbox)
    hosted.set(inbox.address, { grant, inbox, coHosts })
    return inbox
  }

  const coHostsOf = (cardText: string | undefined, owner: string): CardHost[] =>
    cardText === undefined ? [] : verifyCard(cardText, { owner }).hosts.filter(h => h.peer !== node.peerId)

  for (const file of (await readdir(directory)).filter(f => f.endsWith('.json'))) {
    try {
      const { grant: text, bits, card } = JSON.parse(await readFile(join(directory, file), 'utf8')) as { grant: string, bits: number, card?: string }
      const grant = verifyGrant(text, { host: node.peerId, now: now() })
      await host(grant, bits, coHostsOf(card, grant.owner))
    } catch (err) {
      skipped.push({ file, reason: (err as Error).message })
    }
  }

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
      const grant = verifyGrant(grantText, { host: node.peerId, now: now() })
      const card = acceptOptions.card === undefined ? undefined : verifyCard(acceptOptions.card, { owner: grant.owner })
      const bits = card?.bits ?? acceptOptions.bits ?? DEFAULT_POW_BITS
      const inbox = await host(grant, bits, coHostsOf(acceptOptions.card, grant.owner))
      // Written atomically: a crash leaves the old grant or the new one.
      const temp = join(directory, `.${grant.owner}.${randomBytes(4).toString('hex')}.tmp`)
      const kept: Record<string, unknown> = { grant: encodeGrant(grant), bits }
      if (card !== undefined) kept.card = encodeCard(card)
      await writeFile(temp, JSON.stringify(kept), { mode: 0o600 })
      await rename(temp, join(directory, `${grant.owner}.json`))
      return inbox
    },
    list: () => [...hosted.values()].map(({ grant, inbox }) => ({ owner: grant.owner, bits: inbox.bits, expires: grant.expires, inbox })),
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
