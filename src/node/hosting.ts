/**
 * Hosting: the inboxes this node keeps for friends, each under a grant from its owner
 * (docs/PROTOCOL.md §11.1, docs/DESIGN.md §1 "Hosts"; docs/ARCHITECTURE.md, "Hosting"). Grants are
 * kept in the home, read once (grant-files.ts) and indexed by owner and by inbox address; the
 * inboxes are opened on demand (inbox-pool.ts): a host with 10,000 grants starts with none open,
 * and opens one when a delivery, a sync, a retention pass or `ipms host list` needs it.
 *
 *   <home>/hosting/<owner peer-id>.json   { grant: "ipmsgrant…", bits, card?: "ipmscard…" }
 *
 * An inbox is served (to deliveries and to other replicas, with this node's grant shown) only
 * while its grant is valid: an expired grant makes `inboxFor` answer undefined, so syncs are refused
 * and deliveries get ERR_GRANT_EXPIRED (`expiredGrant`; ERR_NOT_HOSTED to a stamp not valid for
 * the inbox). Nothing else is deleted: the owner may send a new grant. A grant file removed
 * from the home stops the serving of its inbox (closed once idle).
 */
import { EventEmitter } from 'node:events'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { writeJsonSynced } from '../util/durable-files.ts'
import { serialQueue } from '../util/serial-queue.ts'
import { timeSlicer } from '../util/time-slice.ts'
import { INBOX_RULES_VERSION, MAX_POW_BITS, MIN_POW_BITS } from '../constants.ts'
import { InvalidArgumentError, NotFoundError } from '../errors.ts'
import { DEFAULT_HOST_POLICY } from './host-policy.ts'
import { encodeCard, verifyCard, type AddressCard, type CardHost } from '../hosting/card.ts'
import { encodeGrant, verifyGrant, type Grant } from '../hosting/grant.ts'
import { expiredAt } from '../hosting/signed-record.ts'
import type { Inbox } from '../stores/inbox.ts'
import { dropInboxRecords, levelStoresOf, nodeStorage, openInbox, openInboxOf } from '../stores/orbitdb/index.ts'
import { asTooManyFiles } from '../util/fd-limit.ts'
import type { IpmsNode } from './create-node.ts'
import type { DroppedHostedInbox } from './drop-hosted.ts'
import { dialCardHost } from './dial-host.ts'
import { grantFiles, type GrantFile, type GrantFileRead, type KeptGrant } from './grant-files.ts'
import type { InboxLease, InboxResolver } from './inbox-lease.ts'
import { createInboxPool, DEFAULT_OPEN_INBOXES } from './inbox-pool.ts'
import type { InboxSync } from './sync.ts'

export type { KeptGrant } from './grant-files.ts'

export interface HostingOptions {
  node: IpmsNode
  sync: InboxSync
  /** The clock grants are judged by, ms (tests move it). Default Date.now. */
  now?: () => number
  /** Idle hosted inboxes kept open at most (config `maxOpenInboxes`). Default 256. */
  maxOpenInboxes?: number
}

/** One inbox kept here, as its grant says (nothing opened). */
export interface HostedGrant {
  owner: string
  bits: number
  /** The inbox address. */
  address: string
  issued: number
  expires?: number
  /** True once the grant is past its expiry: the inbox is kept but no longer served. */
  expired: boolean
  /** The owner's newest card known here (republished on the DHT while valid). */
  card?: AddressCard
  /** The owner's other hosts (from the card), to replicate with. */
  coHosts: CardHost[]
}

/** What `ipms host list` shows of one kept inbox. */
export interface HostedInboxReport extends Omit<HostedGrant, 'card' | 'coHosts'> {
  /** Co-hosts named by the owner's card. */
  coHosts: number
  /** Pending mail held here (not yet read by its owner). */
  pending: number
  /** Bytes of the envelopes of that mail held here. */
  bytes: number
  /** When the newest pending mail reached this host (ms); absent when none is pending. */
  lastMail?: number
  /** Why the inbox could not be read, if it could not (the other figures are then 0). */
  error?: string
}

export interface Hosting {
  /**
   * Accept a grant for this node: checked, kept in the home, and served. With the owner's address
   * card, the inbox's difficulty comes from it and the card's other hosts become this inbox's
   * co-hosts: this node syncs with them now and at every start.
   */
  accept: (grantText: string, options?: { bits?: number, card?: string }) => Promise<HostedGrant>
  /** Sync every hosted inbox with its co-hosts (best effort, one inbox open at a time); the outcomes. */
  syncCoHosts: (options?: { signal?: AbortSignal }) => Promise<Array<{ inbox: string, host: string, ok: boolean, error?: string }>>
  /**
   * Read the grant files again: all of them (only the new or changed ones are parsed and verified),
   * or only `files` (names in the hosting directory, as a directory watcher reports them). Returns
   * the grants newly served (new owners, new difficulty, renewed grants).
   */
  reload: (options?: { files?: Iterable<string>, signal?: AbortSignal }) => Promise<HostedGrant[]>
  /** The inboxes kept here, with their grants (nothing is opened). */
  list: () => HostedGrant[]
  /** Every kept inbox with its figures (each opened in turn, never all at once). */
  report: (options?: { signal?: AbortSignal }) => Promise<HostedInboxReport[]>
  /** The inbox at `address` if it is kept here under a valid grant (for deliveries and syncs); opened only when leased. */
  inboxFor: InboxResolver
  /** The inbox at `address` opened for one operation, if it is kept here under a valid grant. */
  lease: (address: string, options?: { signal?: AbortSignal }) => Promise<InboxLease | undefined>
  /** This node's grant for the inbox at `inbox.address` (shown to other replicas when syncing). */
  grantFor: (inbox: { address: string }) => Grant | undefined
  /** The inbox at `address` when it is kept here under a grant that expired: whose, its difficulty, and when. */
  expiredGrant: (address: string) => { owner: string, bits: number, expires: number } | undefined
  /** Grant files that cannot be used (expired, damaged, for another host), with why; as of the last load. */
  skipped: Array<{ file: string, reason: string }>
  /**
   * Stop keeping `owner`'s inbox and drop it with its blocks (`ipms host rm` through a daemon): no
   * longer served at once, closed once the operations under way end, then its records and blocks
   * deleted (stores/orbitdb/drop-inbox.ts) and its grant file last. NotFoundError when none is kept.
   */
  drop: (owner: string) => Promise<DroppedHostedInbox>
  /** Drop, in every hosted inbox, pending mail older than the retention period; returns the count. */
  applyRetention: (retentionMs?: number, options?: { signal?: AbortSignal }) => Promise<number>
  /**
   * `opened` (Inbox): a hosted inbox was opened (listen to its events); `closed` (address);
   * `error` (Error): an inbox could not be opened or closed (TooManyFilesError when out of descriptors).
   */
  events: EventEmitter
  /** The hosted inboxes open now. */
  opened: () => Inbox[]
  /** Close every hosted inbox (before the node stops). */
  close: () => Promise<void>
}

/** What a kept inbox holds. */
interface InboxFigures {
  pending: number
  bytes: number
  /** When this host first saw its newest and its oldest pending mail (ms); absent when none is pending. */
  lastMail?: number
  oldestMail?: number
}

/** Where a home keeps the grants it accepted. */
export const hostingDirectory = (home: string): string => join(home, 'hosting')

/**
 * Check a grant for `hostPeer` and keep it in the home (atomically: a crash leaves the old grant
 * or the new one). The inbox difficulty comes from the owner's card, else `bits`, else the default.
 * Needs no running node: a running host picks the file up with `reload`.
 */
export async function keepGrant (home: string, hostPeer: string, grantText: string, options: { bits?: number, card?: string, now?: number } = {}): Promise<{ grant: Grant, bits: number, card?: string, file: string }> {
  const grant = verifyGrant(grantText, { host: hostPeer, now: options.now ?? Date.now() })
  const card = options.card === undefined ? undefined : verifyCard(options.card, { owner: grant.owner })
  // Never guessed: a host serving the wrong difficulty refuses every delivery as "not hosted".
  const bits = card?.bits ?? options.bits
  if (bits === undefined) {
    throw new InvalidArgumentError(`The grant does not say the difficulty of ${grant.owner}'s inbox: give their card too (--card ipmscard…, as \`ipms hosts grant\` printed it), or --bits N`)
  }
  if (!Number.isInteger(bits) || bits < MIN_POW_BITS || bits > MAX_POW_BITS) throw new InvalidArgumentError(`--bits must be a whole number from ${MIN_POW_BITS} to ${MAX_POW_BITS}`)
  const directory = hostingDirectory(home)
  await mkdir(directory, { recursive: true, mode: 0o700 })
  const kept: KeptGrant = { grant: encodeGrant(grant), bits }
  if (card !== undefined) kept.card = encodeCard(card)
  const file = `${grant.owner}.json`
  await writeJsonSynced(directory, file, kept)
  return { grant, bits, card: kept.card, file }
}

const isGrantFile = (read: GrantFileRead): read is GrantFile => 'grant' in read

/** Serve every inbox this node keeps under a grant (opened on demand), and keep accepting grants. */
export async function openHosting (options: HostingOptions): Promise<Hosting> {
  const { node, sync } = options
  const now = options.now ?? Date.now
  const directory = hostingDirectory(node.home)
  await mkdir(directory, { recursive: true, mode: 0o700 })
  const files = grantFiles(directory, node.peerId)
  const events = new EventEmitter()
  /** Usable grant files by file name; of them, the one kept per owner (the newest), by owner and by address. */
  const byFile = new Map<string, GrantFile>()
  const byOwner = new Map<string, GrantFile>()
  const byAddress = new Map<string, GrantFile>()
  const skipped: Hosting['skipped'] = []
  /** Peers protected from the connection limits, with the number of kept grants naming them. */
  const protectedPeers = new Map<string, number>()
  /** Set by `close`: the node is stopping (closed inboxes' figures are not worth reading then). */
  let stopping = false

  const pool = createInboxPool({
    max: options.maxOpenInboxes ?? DEFAULT_OPEN_INBOXES,
    close: async inbox => {
      // Its push peers are remembered, so that live mail reaches an online owner after a reopening.
      sync.unregister(inbox, { keepReplicas: true })
      // What it holds cannot change while it is closed (only operations that open it change it):
      // remembered, `host list` and retention need not open it again.
      if (!stopping) await figuresOf(inbox).then(f => { figures.set(inbox.address, f) }, () => { figures.delete(inbox.address) })
      await inbox.close()
      events.emit('closed', inbox.address)
    },
    onError: (err, address) => { events.emit('error', Object.assign(new Error(`closing the hosted inbox ${address} failed: ${(err as Error).message}`), { cause: err })) }
  })
  // A listener-less 'error' would end the process (an EventEmitter rule): failures are reported to listeners only.
  events.on('error', () => {})

  /** What a closed inbox held when it was closed (by address): exact until it is opened again. */
  const figures = new Map<string, InboxFigures>()
  const figuresOf = async (inbox: Inbox): Promise<InboxFigures> => {
    const { count, bytes, oldest, newest } = await inbox.summary()
    return { pending: count, bytes, ...(newest === undefined ? {} : { lastMail: newest }), ...(oldest === undefined ? {} : { oldestMail: oldest }) }
  }

  const openHosted = (address: string, owner: string, bits: number) => async (): Promise<Inbox> => {
    let inbox: Inbox
    try {
      figures.delete(address) // open: its figures may change
      // The grant's owner was checked when its file was read: its canonical peer-id, a valid key.
      inbox = await openInboxOf(node.orbitdb, { owner, bits, rules: INBOX_RULES_VERSION })
      if (inbox.address !== address) {
        await inbox.close()
        inbox = await openInbox(node.orbitdb, owner, bits)
      }
    } catch (err) {
      // Told to listeners (the daemon's `error` event) as well as to the operation that failed.
      const error = asTooManyFiles(err, `opening the inbox of ${owner}`)
      events.emit('error', error)
      throw error
    }
    try {
      await sync.register(inbox)
    } catch (err) {
      await inbox.close().catch(() => {})
      throw err
    }
    events.emit('opened', inbox)
    return inbox
  }

  const expired = (file: GrantFile): boolean => expiredAt(file.grant, now())

  const view = (file: GrantFile): HostedGrant => ({
    owner: file.grant.owner,
    bits: file.bits,
    address: file.address,
    issued: file.grant.issued,
    ...(file.grant.expires === undefined ? {} : { expires: file.grant.expires }),
    expired: expired(file),
    ...(file.card === undefined ? {} : { card: file.card }),
    coHosts: file.coHosts
  })

  const peersOf = (file: GrantFile): string[] => [file.grant.owner, ...file.coHosts.map(h => h.peer)]
  /** Protect (or, at the last grant naming them, unprotect) the peers of a grant: its owner always finds room here. */
  const countPeers = (file: GrantFile, delta: 1 | -1, changes: Map<string, boolean>): void => {
    for (const peer of new Set(peersOf(file))) {
      const count = (protectedPeers.get(peer) ?? 0) + delta
      if (count > 0) protectedPeers.set(peer, count)
      else protectedPeers.delete(peer)
      if (delta === 1 && count === 1) changes.set(peer, true)
      if (delta === -1 && count === 0) changes.set(peer, false)
    }
  }

  /** The newest usable grant file of `owner` (normally its one file `<owner>.json`). */
  const newestOf = (owner: string, candidates: Iterable<GrantFile>): GrantFile | undefined => {
    let best: GrantFile | undefined
    for (const f of candidates) if (f.grant.owner === owner && (best === undefined || f.grant.issued > best.grant.issued)) best = f
    return best
  }

  /** Files per owner, to pick the newest when one goes (a file not named after its owner is unusual, but possible). */
  const filesOf = new Map<string, Set<string>>()

  /** Apply what a scan found; returns the grants newly served. */
  const apply = async (changed: GrantFileRead[], removed: string[], signal?: AbortSignal): Promise<HostedGrant[]> => {
    const touched = new Set<string>() // owners whose kept grant may change
    const forget = (file: string): void => {
      const before = byFile.get(file)
      if (before === undefined) return
      byFile.delete(file)
      filesOf.get(before.grant.owner)?.delete(file)
      touched.add(before.grant.owner)
    }
    for (const file of removed) forget(file)
    for (const read of changed) {
      forget(read.file)
      if (!isGrantFile(read)) continue
      byFile.set(read.file, read)
      let set = filesOf.get(read.grant.owner)
      if (set === undefined) filesOf.set(read.grant.owner, set = new Set())
      set.add(read.file)
      touched.add(read.grant.owner)
    }
    const added: HostedGrant[] = []
    const protections = new Map<string, boolean>()
    const slice = timeSlicer() // thousands of owners at a start
    for (const owner of touched) {
      await slice()
      const before = byOwner.get(owner)
      const names = filesOf.get(owner) ?? new Set<string>()
      const after = newestOf(owner, [...names].map(n => byFile.get(n)!))
      if (names.size === 0) filesOf.delete(owner)
      if (before === after) continue
      if (before !== undefined) {
        byOwner.delete(owner)
        byAddress.delete(before.address)
        countPeers(before, -1, protections)
        if (after?.address !== before.address) pool.drop(before.address)
      }
      if (after !== undefined) {
        byOwner.set(owner, after)
        byAddress.set(after.address, after)
        countPeers(after, 1, protections)
        if (!expired(after)) added.push(view(after))
      }
    }
    // Peer-store writes, a few at a time (thousands at a start).
    const entries = [...protections]
    for (let i = 0; i < entries.length; i += 64) {
      await slice(signal)
      await Promise.all(entries.slice(i, i + 64).map(async ([peer, on]) => { await node.protect(peer, on) }))
    }
    refreshSkipped()
    return added
  }

  const refreshSkipped = (): void => {
    skipped.length = 0
    for (const read of files.all()) {
      if (!isGrantFile(read)) {
        skipped.push({ file: read.file, reason: read.reason })
      } else if (byOwner.get(read.grant.owner) !== read) {
        skipped.push({ file: read.file, reason: `a newer grant of ${read.grant.owner} is kept (${byOwner.get(read.grant.owner)?.file ?? 'none'})` })
      } else if (expired(read)) {
        skipped.push({ file: read.file, reason: `The grant of ${read.grant.owner} to ${read.grant.host} expired on ${new Date(read.grant.expires!).toISOString()}: ask the owner for a new one` })
      }
    }
  }

  /** Reloads one at a time (an accept, the daemon's watcher, SIGHUP): each sees the state the previous left. */
  const reloads = serialQueue()
  const reload: Hosting['reload'] = async (reloadOptions = {}) => await reloads.run(async () => {
    const scan = await files.scan(reloadOptions)
    return await apply(scan.changed, scan.removed, reloadOptions.signal)
  })
  await reload()

  const valid = (file: GrantFile | undefined): file is GrantFile => file !== undefined && !expired(file)

  const inboxFor: InboxResolver = address => {
    const file = byAddress.get(address)
    if (!valid(file)) return undefined
    const { owner } = file.grant
    return { address, owner, bits: file.bits, lease: async leaseOptions => await pool.lease(address, openHosted(address, owner, file.bits), leaseOptions) }
  }

  /** Lease the inbox of a kept grant, expired or not (retention and reports still read it). */
  const leaseKept = async (file: GrantFile, signal?: AbortSignal): Promise<InboxLease> =>
    await pool.lease(file.address, openHosted(file.address, file.grant.owner, file.bits), { signal })

  /** Run `fn` on each kept inbox in turn (opened for it, released after); stops at `signal`. */
  const eachKept = async (fn: (file: GrantFile, lease: InboxLease) => Promise<void>, signal: AbortSignal | undefined, which: (file: GrantFile) => boolean = () => true): Promise<void> => {
    for (const file of [...byOwner.values()]) {
      signal?.throwIfAborted()
      if (!which(file) || byOwner.get(file.grant.owner) !== file) continue
      const lease = await leaseKept(file, signal)
      try { await fn(file, lease) } finally { lease.release() }
    }
  }

  const syncCoHosts: Hosting['syncCoHosts'] = async (syncOptions = {}) => {
    const outcomes: Awaited<ReturnType<Hosting['syncCoHosts']>> = []
    await eachKept(async (file, { inbox }) => {
      for (const coHost of file.coHosts) {
        try {
          await dialCardHost(async (address, signal) => { await node.dial(address, { signal }) }, coHost, syncOptions.signal)
          await sync.syncWith(coHost.peer, inbox, { signal: syncOptions.signal })
          outcomes.push({ inbox: inbox.address, host: coHost.peer, ok: true })
        } catch (err) {
          outcomes.push({ inbox: inbox.address, host: coHost.peer, ok: false, error: (err as Error).message })
        }
      }
    }, syncOptions.signal, file => file.coHosts.length > 0 && !expired(file))
    return outcomes
  }

  return {
    accept: async (grantText, acceptOptions = {}) => {
      const { file } = await keepGrant(node.home, node.peerId, grantText, { ...acceptOptions, now: now() })
      await reload({ files: [file] })
      const kept = byFile.get(file)
      if (kept === undefined) throw new Error(`the grant just written to ${file} could not be read back`)
      return view(kept)
    },
    reload,
    list: () => [...byOwner.values()].map(view),
    report: async (reportOptions = {}) => {
      const reports: HostedInboxReport[] = []
      for (const file of [...byOwner.values()].sort((a, b) => a.grant.owner < b.grant.owner ? -1 : 1)) {
        reportOptions.signal?.throwIfAborted()
        const { card, coHosts, ...grant } = view(file)
        const report: HostedInboxReport = { ...grant, coHosts: coHosts.length, pending: 0, bytes: 0 }
        try {
          // A closed inbox's figures as it was closed; an open one (or one not seen since start) is read.
          let held = pool.isOpen(file.address) ? undefined : figures.get(file.address)
          if (held === undefined) {
            const lease = await leaseKept(file, reportOptions.signal)
            try { held = await figuresOf(lease.inbox) } finally { lease.release() }
          }
          report.pending = held.pending
          report.bytes = held.bytes
          if (held.lastMail !== undefined) report.lastMail = held.lastMail
        } catch (err) {
          reportOptions.signal?.throwIfAborted()
          report.error = (err as Error).message
        }
        reports.push(report)
      }
      return reports
    },
    inboxFor,
    lease: async (address, leaseOptions) => await inboxFor(address)?.lease(leaseOptions),
    grantFor: (inbox) => {
      const file = byAddress.get(inbox.address)
      return valid(file) ? file.grant : undefined
    },
    expiredGrant: (address) => {
      const file = byAddress.get(address)
      return file === undefined || !expired(file) ? undefined : { owner: file.grant.owner, bits: file.bits, expires: file.grant.expires! }
    },
    skipped,
    syncCoHosts,
    drop: async (owner) => await reloads.run(async () => {
      const file = byOwner.get(owner)
      if (file === undefined) throw new NotFoundError(`No inbox of ${owner} is kept here: \`ipms host list\` shows the inboxes this node keeps`)
      const names = [...filesOf.get(owner) ?? []]
      // Not served from now on; closed once the operations under way release it.
      await apply([], names)
      await pool.closed(file.address)
      figures.delete(file.address)
      const stores = levelStoresOf(node.helia)
      const inboxes = nodeStorage(node.helia).inboxes
      if (stores === undefined || inboxes === undefined) throw new Error('this node keeps no LevelDB stores of its own: its inboxes cannot be dropped here')
      const dropped = await dropInboxRecords({ ...stores, inboxes }, file.address)
      // The grant file last: a drop cut short is still listed, and runs again to its end.
      for (const name of names) await rm(join(directory, name), { force: true })
      const scan = await files.scan({ files: names })
      await apply(scan.changed, scan.removed)
      return { owner, inbox: file.address, ...dropped }
    }),
    applyRetention: async (retentionMs = DEFAULT_HOST_POLICY.retentionMs, retentionOptions = {}) => {
      let dropped = 0
      const before = now() - retentionMs
      // A closed inbox whose oldest pending mail is recent enough has nothing to drop: not opened.
      const due = (file: GrantFile): boolean => {
        const held = pool.isOpen(file.address) ? undefined : figures.get(file.address)
        return held === undefined || (held.oldestMail !== undefined && held.oldestMail < before)
      }
      await eachKept(async (_file, { inbox }) => { dropped += (await inbox.expireBefore(before)).length }, retentionOptions.signal, due)
      return dropped
    },
    events,
    opened: pool.opened,
    close: async () => {
      stopping = true
      await pool.closeAll()
    }
  }
}

/** The grants kept in a home, read without starting a node (`ipms host rm`); damaged files are reported. */
export async function listKeptGrants (home: string, options: { now?: number } = {}): Promise<Array<{ owner: string, bits: number, address: string, issued: number, expires?: number, expired: boolean, coHosts: number } | { file: string, error: string }>> {
  const now = options.now ?? Date.now()
  const files = grantFiles(hostingDirectory(home))
  await files.scan()
  return files.all().map(read => {
    if (!isGrantFile(read)) return { file: read.file, error: read.reason }
    const { grant, bits, address, coHosts } = read
    return { owner: grant.owner, bits, address, issued: grant.issued, ...(grant.expires === undefined ? {} : { expires: grant.expires }), expired: expiredAt(grant, now), coHosts: coHosts.length }
  })
}
