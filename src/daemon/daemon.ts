/**
 * The daemon as a library (docs/ARCHITECTURE.md, "The daemon"): a home's node kept online, and
 * everything `ipms daemon` does on a schedule, for any program. It serves the owner's inbox
 * (senders deliver to it directly, hosts push new mail at once), reads and stores new mail as it
 * arrives, keeps friends' inboxes under their grants (picking up `ipms host accept` as it
 * happens), applies the host policy, publishes hosts records on the DHT, and retries the outbox.
 * What happens is told as events (events.ts); what a program asks for goes through the returned
 * operations, serialised with the daemon's own steps where they touch the same state.
 *
 * ```ts
 * const daemon = await startDaemon({ home, identity, signal })
 * for await (const event of daemon.events.subscribe({ since: 0 })) console.log(event.type, event.data)
 * ```
 *
 * Watch out for: background steps (reads of the own inbox, publication, co-host syncs, outbox
 * retries, retention) run one at a time, grant reloads one at a time beside them; a failed step is
 * an `error` event, never the end of the daemon. Sends are not queued behind them (their proof-of-work takes seconds):
 * they go through the daemon's one outbox, whose leases keep one mail from being tried twice.
 */
import { watch } from 'node:fs'
import type { AddressCard, CardHost } from '../hosting/card.ts'
import { onDhtPeer, publishHostsRecord } from '../discovery/dht.ts'
import { loadConfig, type HomeConfig } from '../home/config.ts'
import { openContacts, type Contact, type Contacts } from '../home/contacts.ts'
import { HOSTS_FILE_NAME, openOwnerHosts, withOwnCard, type GrantedHost, type OwnerHosts } from '../home/owner-hosts.ts'
import type { LifetimeOptions } from '../hosting/signed-record.ts'
import type { Identity } from '../identity/identity.ts'
import { parsePeerId } from '../identity/peer-id.ts'
import type { DroppedHostedInbox } from '../node/drop-hosted.ts'
import { InvalidArgumentError, NoWebError } from '../errors.ts'
import { readIdentityInfo } from '../identity/keystore.ts'
import { findMail, shortId } from '../mail/find-mail.ts'
import { openMailStore, type ListedMail, type SentMail, type StoredMail } from '../mail/mail-store.ts'
import type { Draft } from '../mail/seal.ts'
import { startHomeNode, type HomeNode } from '../node/home-node.ts'
import { hostingDirectory, type HostedGrant, type HostedInboxReport } from '../node/hosting.ts'
import { destinationOfEntry, openOutbox, type OutboxEntry, type RetryOptions, type RetryReport } from '../node/outbox.ts'
import { outboxSettings } from '../node/resolve-recipient.ts'
import { readInbox, type ReadInboxResult } from '../node/read-inbox.ts'
import { destinationOf, type DeliveryFailure, type SendMailOptions } from '../node/send-mail.ts'
import { ownerReach } from '../discovery/reach-owner.ts'
import type { Inbox } from '../stores/inbox.ts'
import { concurrencyLimit } from '../util/concurrency-limit.ts'
import { serialQueue } from '../util/serial-queue.ts'
import type { ApiInfo } from '../api/api-files.ts'
import { createApiHandler } from '../api/handler.ts'
import { startApiServer, type ApiServer } from '../api/server.ts'
import { startWebServer, type WebServer } from '../web/server.ts'
import { startHostEvents, type HostEvents } from '../host-events/host.ts'
import { createEventLog, type DaemonEvents } from './events.ts'
import { createMailHook, type MailHook, type MailHookOptions } from './mail-hook.ts'

/** When the daemon does what, ms. */
export interface DaemonSchedule {
  /** Sync the owner's inbox with its hosts, and the hosted inboxes with their co-hosts. Default 5 min. */
  resyncMs: number
  /** Retry the outbox (the mail whose backoff has passed). Default 30 s. */
  outboxMs: number
  /** Apply the retention of hosted mail. Default 1 h. */
  retentionMs: number
  /** Delays before syncing again with a host that failed; the last repeats until the next resync. */
  hostRetryMs: number[]
  /** Gathering of bursts (grant files, pruned counts, publications). Default 50 ms. */
  settleMs: number
  /**
   * Gathering of new mail before the own inbox is read, ms. Default 0: the mail of one sync
   * session is indexed in one turn, so the next tick already sees all of it, and mail that comes
   * during a read is read by the next one (reads run one at a time). A longer wait only delays
   * the `mail` event (issue #12: p50 ≤ 50 ms from the host's receipt to an event client).
   */
  mailSettleMs: number
  /** Publish the hosts records again: hourly, well within kad-dht's 36-hour record age. */
  publishMs: number
  /** Publish again after a failure (also on every new DHT peer). Default 1 min. */
  publishRetryMs: number
}

export const DEFAULT_SCHEDULE: Readonly<DaemonSchedule> = {
  resyncMs: 5 * 60_000,
  outboxMs: 30_000,
  retentionMs: 60 * 60_000,
  hostRetryMs: [2_000, 5_000, 15_000, 30_000, 60_000],
  settleMs: 50,
  mailSettleMs: 0,
  publishMs: 60 * 60_000,
  publishRetryMs: 60_000
}

/** Sends at once through one daemon (DaemonOptions.sendConcurrency). */
export const DEFAULT_SEND_CONCURRENCY = 2

export interface DaemonOptions {
  home: string
  identity: Identity
  /** Default: the home's config.json. */
  config?: HomeConfig
  /** Listen addresses instead of the config's. */
  listen?: string[]
  /** Stops the daemon (as `stop()` does). */
  signal?: AbortSignal
  /** A command run for each new mail stored (mail-hook.ts). */
  onMail?: MailHookOptions
  /** How many events are kept for `since()` and late subscribers. Default 1000. */
  eventsKept?: number
  /** Other timings than DEFAULT_SCHEDULE (tests). */
  schedule?: Partial<DaemonSchedule>
  /**
   * Sends (proof-of-work and delivery) at once; more wait their turn. Default 2: a host takes 4
   * handshakes at once from one address, and this node's own syncs need some of them.
   */
  sendConcurrency?: number
  /**
   * Serve the local API (docs/API.md) on `<home>/api.sock`, and on TCP when config `apiListen`
   * says so. Default true; false for a daemon that no other program may talk to.
   */
  api?: boolean
  /**
   * Serve the web inbox (src/web/) on this loopback "host:port" (port 0: any free one); default:
   * config `web`, else none. Needs the API (its routes are the web inbox's).
   */
  web?: string
}

/** Who the running node is and where it is reachable. */
export interface DaemonId {
  peerId: string
  inbox: string
  bits: number
  addrs: string[]
  /** The owners whose inboxes are kept here. */
  hosted: string[]
  /** Whether the home's key file is encrypted (false when the identity was not read from one). */
  encrypted: boolean
}

/** What `syncNow()` did: the read of the own inbox, and the outbox mail delivered after it. */
export interface DaemonSyncResult extends ReadInboxResult {
  outboxDelivered: OutboxEntry[]
}

export type DaemonSendOptions = Omit<SendMailOptions, 'from'> & {
  /** Carry the owner's card in the mail when it lists hosts (default true: the recipient can answer at once). */
  ownCard?: boolean
}

export interface Daemon {
  events: DaemonEvents
  /** The node and its services (for what the operations below do not cover). */
  node: HomeNode
  id: () => DaemonId
  /** The owner's current address card. */
  card: () => Promise<{ text: string, card: AddressCard }>
  /** The hosts this owner granted. */
  hosts: () => Promise<GrantedHost[]>
  /**
   * The friends' inboxes kept here, with their pending mail, bytes held, newest mail and grant
   * expiry (`expired` marks a grant past it). Each inbox is opened in turn to be counted, never all at once.
   */
  hosted: () => Promise<Array<Omit<HostedInboxReport, 'address'> & { inbox: string }>>
  contacts: () => Promise<Contact[]>
  /** Peer-id → petname, for display: none when contacts.json is damaged (never a failure). */
  names: () => Promise<Map<string, string>>
  /** The mail received, newest first, with its Maildir state; `all`: also what was deleted or trashed in the Maildir. */
  list: (options?: { all?: boolean }) => Promise<ListedMail[]>
  /** A received mail by short id, end of its entry hash, or rank (1 = newest). NotFoundError otherwise. */
  read: (id: string) => Promise<StoredMail>
  /**
   * Sync the own inbox with its hosts now (after the step under way), store and prune, then retry
   * what is due in the outbox: the daemon's own step, with the same events. Throws
   * NoReplicaError when no host answered, as `ipms sync` does.
   */
  syncNow: () => Promise<DaemonSyncResult>
  /**
   * Seal, stamp and deliver through the daemon's outbox (`sendConcurrency` at once, the others in
   * turn); a `sent` event, or an `outbox` event when it waits there.
   */
  send: (draft: Draft, options: DaemonSendOptions) => Promise<{ entry: OutboxEntry, delivered: boolean, failures: DeliveryFailure[] }>
  /** The mail waiting for receipts, oldest first. */
  outbox: () => Promise<OutboxEntry[]>
  /** Give up a waiting mail (Outbox.cancel); an `outbox-cancelled` event. */
  cancelOutbox: (id: string) => Promise<OutboxEntry>
  /**
   * Try the outbox now (every mail with `force`, only the mail `id` names, given up or not, with
   * `id`), after the step under way; a `sent` event per mail delivered, `outbox-gave-up` per mail given up.
   */
  retryOutbox: (options?: Pick<RetryOptions, 'force' | 'timeoutMs' | 'id'>) => Promise<RetryReport>
  /** Read `<home>/hosting` again (as on SIGHUP): the grants accepted since are served. */
  reloadGrants: () => void
  /** The mail sent from this home, newest first. */
  sent: () => Promise<SentMail[]>
  /** Mark a received mail read in the Maildir (`ipms read`); a `seen` event when it was unread. NotFoundError for no such mail. */
  markSeen: (id: string) => Promise<{ mail: StoredMail, changed: boolean }>
  /** Mark answered (Maildir `R`) the received mail whose Message-ID is `messageId`, as `ipms reply` does; false when none is here. */
  markReplied: (messageId: string) => Promise<boolean>
  /** Delete a received mail here (its stored copy and its Maildir message); the mail deleted. NotFoundError otherwise. */
  deleteMail: (id: string) => Promise<StoredMail>
  /** Grant a host the keeping of this inbox (signed with the daemon's key): OwnerHosts.grant. */
  grantHost: OwnerHosts['grant']
  /** Drop a host from the card: OwnerHosts.revoke. */
  revokeHost: OwnerHosts['revoke']
  /**
   * Keep a friend's inbox under the grant they gave (`ipms host accept`): kept in the home and
   * served before this resolves; a `hosting` event.
   */
  acceptGrant: (grantText: string, options?: { bits?: number, card?: string }) => Promise<{ owner: string, bits: number, expires?: number, inbox: string }>
  /** Stop keeping a friend's inbox and drop it with its blocks (`ipms host rm`); a `host-dropped` event. */
  dropHosted: (owner: string) => Promise<DroppedHostedInbox>
  /** Contacts.add, .remove and .issuePass (signed with the daemon's key). */
  addContact: Contacts['add']
  removeContact: Contacts['remove']
  issuePass: (name: string, options?: LifetimeOptions) => ReturnType<Contacts['issuePass']>
  /** Finish the step under way, stop the node, release the home. Idempotent. */
  stop: () => Promise<void>
  /** Settles once the daemon has stopped, however it was stopped. */
  stopped: Promise<void>
  /** Where the local API listens (what `<home>/api` says), unless started with `api: false`. */
  api?: ApiInfo
  /** Where the web inbox listens (http://127.0.0.1:PORT), when it is served. */
  web?: string
  /** Where owners' phones reach their event streams over plain HTTP (config `http`), when served. */
  hostEvents?: string
  /** A one-time login link to the web inbox (10 minutes). NoWebError when it is not served. */
  webLink: () => { url: string, expires: number }
}

/** Start a home's node and keep it online; resolves once it listens (the `started` event is out). */
export async function startDaemon (options: DaemonOptions): Promise<Daemon> {
  const { home, identity } = options
  const schedule: DaemonSchedule = { ...DEFAULT_SCHEDULE, ...options.schedule }
  const stopping = new AbortController()
  const signal = options.signal === undefined ? stopping.signal : AbortSignal.any([options.signal, stopping.signal])
  const config = options.config ?? await loadConfig(home)
  const encrypted = await readIdentityInfo(home).then(info => info.peerId === identity.peerId && info.encrypted, () => false)
  const running = await startHomeNode({ home, identity, config, listen: options.listen, signal })
  const cleanups: Array<() => void> = []
  const queue = serialQueue()
  /**
   * Grant loads, one at a time but apart from the other steps: they touch only hosting's index, and
   * an accepted grant must not wait behind an hour's retention pass over thousands of inboxes.
   */
  const grantLoads = serialQueue()
  const sends = concurrencyLimit(options.sendConcurrency ?? DEFAULT_SEND_CONCURRENCY)
  let hook: MailHook | undefined
  let api: ApiServer | undefined
  let web: WebServer | undefined
  let hostEvents: HostEvents | undefined
  try {
    // Owners' event streams (PROTOCOL.md §15): over libp2p always, over plain HTTP where config `http` says.
    hostEvents = await startHostEvents({ node: running.node, hosting: running.hosting, http: config.http })
    const log = createEventLog({ kept: options.eventsKept })
    const contacts = openContacts(home)
    const ownerHosts = openOwnerHosts(home, { peerId: identity.peerId, bits: config.bits, signer: async () => identity })
    const outbox = openOutbox(home, {
      ...outboxSettings(home, config),
      onGaveUp: entry => { log.emit('outbox-gave-up', { id: entry.id, to: destinationOfEntry(entry).owner, reason: entry.gaveUp?.reason ?? '' }) }
    })
    const store = openMailStore(home, { nameOf: contacts.nameOf })
    /** Recipients' own nodes, for mail as chat (who was not found is not looked for again for a while). */
    const owners = ownerReach(running.node.libp2p)
    hook = options.onMail === undefined
      ? undefined
      : createMailHook({ ...options.onMail, home, onError: message => { log.emit('error', { step: 'running the --on-mail hook', message }) } })

    /** A failure is an event (not once the daemon is stopping: then steps are cut short on purpose). */
    const report = (step: string) => (err: unknown): void => {
      if (!signal.aborted) log.emit('error', { step, code: (err as { code?: string }).code, message: (err as Error).message })
    }
    /** A background step: queued, its failure an event. */
    const background = (step: string, fn: () => Promise<void>): void => { queue.run(fn).catch(report(step)) }
    /** `fn` once, `settleMs` (or `delayMs`) after the first of a burst of calls. */
    const later = (fn: () => void, delayMs = schedule.settleMs): () => void => {
      let pending: NodeJS.Timeout | undefined
      cleanups.push(() => { clearTimeout(pending) })
      return () => { pending ??= setTimeout(() => { pending = undefined; fn() }, delayMs) }
    }
    const every = (ms: number, fn: () => void): void => {
      const timer = setInterval(fn, ms)
      cleanups.push(() => { clearInterval(timer) })
    }

    const addrs = running.node.multiaddrs()
    /** The owners whose inboxes are served here (grants not expired). */
    const servedOwners = (): string[] => running.hosting.list().flatMap(h => h.expired ? [] : [h.owner])
    log.emit('started', { peerId: identity.peerId, inbox: running.inbox.address, addrs, hosted: servedOwners() })
    for (const s of running.hosting.skipped) log.emit('grant-skipped', s)
    for (const b of running.unreachableBootstrap) log.emit('bootstrap-failed', b)
    // A full disk: deliveries are refused (ERR_STORAGE_FULL) until space returns; the node retries by itself.
    const storage = running.node.storage.events
    const onFull = (e: Event): void => { log.emit('storage-full', { code: 'ERR_STORAGE_FULL', message: String((e as CustomEvent<string>).detail) }) }
    const onRecovered = (): void => { log.emit('storage-recovered', {}) }
    storage.addEventListener('full', onFull)
    storage.addEventListener('recovered', onRecovered)
    cleanups.push(() => { storage.removeEventListener('full', onFull); storage.removeEventListener('recovered', onRecovered) })

    /** Sync with `replicas` (none: only what is here), store and prune; a `mail` event (and a hook run) per mail. */
    const readOwn = async (replicas: CardHost[]): Promise<ReadInboxResult> => await queue.run(async () => {
      const result = await readInbox({ node: running.node, sync: running.sync, inbox: running.inbox, identity, replicas, store, contacts, signal })
      for (const r of result.received) {
        const id = shortId(r.entry)
        log.emit('mail', { id, entry: r.entry, from: r.mail.from, name: await contacts.nameOf(r.mail.from) })
        hook?.run({ id, from: r.mail.from, subject: r.mail.subject })
      }
      for (const q of result.quarantined) log.emit('quarantined', { id: shortId(q.entry), code: q.code })
      return result
    })
    const ownHosts = async (): Promise<CardHost[]> => (await ownerHosts.list()).map(h => ({ peer: h.peer, addrs: h.addrs }))
    /** This owner's hosts, read again when hosts.json changes (not on every connection). */
    let hosts = await ownHosts()
    // Live mail needs a session with each host (it then pushes to this node): a host that could not
    // be synced is tried again soon, and again whenever a connection to it opens.
    let retryTimer: NodeJS.Timeout | undefined
    cleanups.push(() => { clearTimeout(retryTimer) })
    const syncHosts = async (targets: CardHost[], attempt = 0): Promise<ReadInboxResult> => {
      let failed = new Set(targets.map(h => h.peer))
      try {
        const result = await readOwn(targets)
        failed = new Set(result.replicas.filter(r => !r.ok).map(r => r.replica))
        return result
      } finally {
        if (failed.size > 0 && !signal.aborted) {
          clearTimeout(retryTimer)
          retryTimer = setTimeout(() => { syncHosts(targets.filter(h => failed.has(h.peer)), attempt + 1).catch(report('reading your inbox')) },
            schedule.hostRetryMs[Math.min(attempt, schedule.hostRetryMs.length - 1)])
          retryTimer.unref()
        }
      }
    }
    const syncHostsInBackground = (targets: CardHost[]): void => { syncHosts(targets).catch(report('reading your inbox')) }
    syncHostsInBackground(hosts)
    const onConnect = (event: CustomEvent<{ toString: () => string }>): void => {
      const peer = event.detail.toString()
      const host = hosts.filter(h => h.peer === peer)
      if (host.length > 0) syncHostsInBackground(host)
    }
    running.node.libp2p.addEventListener('peer:connect', onConnect as never)
    cleanups.push(() => { running.node.libp2p.removeEventListener('peer:connect', onConnect as never) })
    // New mail is read when its entry is indexed and again when a sync session has stored
    // envelopes: a session indexes the entries it joins before it stores their envelopes, so a read
    // started by the first alone may find an envelope not there yet (it then waits for the next).
    const readNewMail = later(() => { readOwn([]).catch(report('reading your inbox')) }, schedule.mailSettleMs)
    running.inbox.events.on('mail', readNewMail)
    running.inbox.events.on('synced', (result: { envelopes: number }) => { if (result.envelopes > 0) readNewMail() })

    /** Mail dropped per owner since the last `hosted-pruned` events (one timer for all: inboxes come and go). */
    const prunedBy = new Map<string, number>()
    const tellPruned = later(() => {
      for (const [owner, count] of prunedBy) log.emit('hosted-pruned', { owner, count })
      prunedBy.clear()
    })
    const watchHosted = (inbox: Inbox): void => {
      inbox.events.on('mail', () => { log.emit('hosted-mail', { owner: inbox.owner }) })
      inbox.events.on('pruned', () => { prunedBy.set(inbox.owner, (prunedBy.get(inbox.owner) ?? 0) + 1); tellPruned() })
    }
    // Hosted inboxes are opened on demand (a delivery, a sync, retention) and closed when idle:
    // each is watched from its opening, so that its events are told whenever it is open.
    const hostedEvents = running.hosting.events
    hostedEvents.on('opened', watchHosted)
    // A hosted inbox that does not open fails its delivery or sync; the operator hears of it once a
    // minute per kind at most (out of descriptors, every delivery would say it again).
    const lastHostingError = new Map<string, number>()
    const onHostingError = (err: Error & { code?: string }): void => {
      const kind = err.code ?? 'other'
      if (Date.now() - (lastHostingError.get(kind) ?? -Infinity) < 60_000) return
      lastHostingError.set(kind, Date.now())
      report('opening a friend\'s inbox')(err)
    }
    hostedEvents.on('error', onHostingError)
    cleanups.push(() => { hostedEvents.off('opened', watchHosted); hostedEvents.off('error', onHostingError) })
    for (const inbox of running.hosting.opened()) watchHosted(inbox)
    /** Publishes hosts records (set below when the DHT runs). */
    let publishSoon = (): void => {}
    /** Grants newly served: a `hosting` event each, and their owners' hosts records published. */
    const served = (added: HostedGrant[]): void => {
      for (const grant of added) log.emit('hosting', { owner: grant.owner, inbox: grant.address })
      if (added.length > 0) publishSoon() // the new owner's hosts record, from its card
    }
    /** Grant files the watcher named since the last reload; undefined: read the whole directory. */
    let grantFilesSeen: Set<string> | undefined = new Set()
    // Gathered for 5 ms only (the events of one write: its temp file, its rename): reading the
    // files named costs about a millisecond, and an accepted grant is served at once (issue #13: < 100 ms).
    const loadGrants = later(() => {
      const files = grantFilesSeen
      grantFilesSeen = new Set()
      grantLoads.run(async () => { served(await running.hosting.reload({ files, signal })) }).catch(report('loading grants'))
    }, Math.min(schedule.settleMs, 5))
    /** Read the whole hosting directory again (SIGHUP, the API): only new or changed files are verified. */
    const reloadGrants = (): void => { grantFilesSeen = undefined; loadGrants() }
    // The watcher names the file that changed (a grant is written by a rename into its name): only
    // that one is read; without a name, the whole directory is (only new or changed files are verified).
    const grantsWatcher = watch(hostingDirectory(home), (_event, file) => {
      if (file === null || file === undefined) grantFilesSeen = undefined
      else grantFilesSeen?.add(String(file))
      loadGrants()
    })
    const homeWatcher = watch(home, (_event, file) => {
      if (file !== HOSTS_FILE_NAME) return
      ownHosts().then(read => { hosts = read }, report('reading hosts.json'))
      publishSoon() // the new card
    })
    cleanups.push(() => { grantsWatcher.close(); homeWatcher.close() })

    // Hosts records: this owner's own card (when it lists hosts), and the cards of the owners kept
    // here, republished so that they stay findable while their owners are offline.
    let publishTimer: NodeJS.Timeout | undefined
    let published = false
    const publish = later(() => {
      background('publishing hosts records', async () => {
        const own = (await ownerHosts.card()).card
        const cards = [own, ...running.hosting.list().map(h => h.card)]
          .filter((c): c is AddressCard => c !== undefined && c.hosts.length > 0 && c.expires !== undefined && c.expires > Date.now())
        let failed = false
        for (const card of cards) {
          try {
            const peers = await publishHostsRecord(running.node.libp2p, card, { signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]) })
            log.emit('published', { owner: card.owner, ts: card.ts, peers })
          } catch (err) {
            if (signal.aborted) return
            failed = true
            log.emit('publish-failed', { owner: card.owner, message: (err as Error).message })
          }
        }
        published = !failed
        clearTimeout(publishTimer)
        publishTimer = setTimeout(publish, failed ? schedule.publishRetryMs : schedule.publishMs)
        publishTimer.unref()
      })
    })
    if (config.dht) {
      publishSoon = publish
      publish()
      const stopWatchingDht = onDhtPeer(running.node.libp2p, () => { if (!published) publish() })
      cleanups.push(stopWatchingDht, () => { clearTimeout(publishTimer) })
    }

    const syncCoHosts = (): void => {
      background('syncing co-hosts', async () => {
        for (const o of await running.hosting.syncCoHosts({ signal })) if (!o.ok) log.emit('co-host-failed', o)
      })
    }
    syncCoHosts()
    /** A retry of the outbox, queued; a `sent` event per mail delivered. */
    const retryOutbox = async (retry: Pick<RetryOptions, 'force' | 'timeoutMs' | 'id'> = {}): Promise<RetryReport> => await queue.run(async () => {
      const tried = await outbox.retryReport({ ...retry, signal })
      for (const e of tried.delivered) log.emit('sent', { id: e.id, receipts: e.receipts.map(r => r.host) })
      return tried
    })
    every(schedule.resyncMs, () => { syncHostsInBackground(hosts); syncCoHosts() })
    every(schedule.outboxMs, () => { retryOutbox().catch(report('retrying the outbox')) })
    every(schedule.retentionMs, () => {
      background('applying retention', async () => {
        const dropped = await running.hosting.applyRetention(config.hostPolicy.retentionMs)
        if (dropped > 0) log.emit('retention', { dropped })
      })
    })

    let stopped: Promise<void> | undefined
    const stop = async (): Promise<void> => {
      // Deferred: aborting below calls stop() again, which must find this promise already set.
      stopped ??= Promise.resolve().then(async () => {
        log.emit('stopping', {})
        await api?.close() // no new requests; the API files go while this process still holds the home
        stopping.abort()
        for (const cleanup of cleanups.splice(0)) cleanup()
        await Promise.all([queue.idle(), grantLoads.idle()])
        await hook?.stop() // the hooks of the mail stored so far still run
        await hostEvents?.close()
        await running.stop()
        log.emit('stopped', {})
        log.close()
        await api?.finish() // event streams have their last events now
        await web?.close()
      })
      await stopped
    }
    let resolveStopped: () => void = () => {}
    const whenStopped = new Promise<void>(resolve => { resolveStopped = resolve })
    const onAbort = (): void => { void stop().finally(resolveStopped) }
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })

    const daemon: Daemon = {
      events: { last: log.last, since: log.since, subscribe: log.subscribe },
      node: running,
      id: () => ({ peerId: identity.peerId, inbox: running.inbox.address, bits: config.bits, addrs: running.node.multiaddrs(), hosted: servedOwners(), encrypted }),
      card: async () => await ownerHosts.card(),
      hosts: async () => await ownerHosts.list(),
      hosted: async () => (await running.hosting.report({ signal })).map(({ address, ...rest }) => ({ ...rest, inbox: address })),
      contacts: async () => await contacts.list(),
      names: async () => await contacts.names(),
      // The daemon's one mail store (its stale-temp sweep runs once, not at every request).
      list: async listOptions => await store.listed(listOptions),
      read: async id => await findMail(store, id),
      syncNow: async () => {
        const result = await syncHosts(hosts)
        return { ...result, outboxDelivered: (await retryOutbox()).delivered }
      },
      send: async (draft, { ownCard, ...sendOptions }) => {
        const sendSignal = sendOptions.signal === undefined ? signal : AbortSignal.any([signal, sendOptions.signal])
        const sealed = ownCard === false ? draft : await withOwnCard(draft, ownerHosts)
        // Mail as chat: the owner's own node first when it is online (found while the PoW runs).
        const owner = destinationOf(sendOptions.card).owner
        const reachNow = async (): Promise<CardHost[]> => await owners.reach(owner, { signal: sendSignal })
        const sent = await sends.run(async () => await outbox.send(sealed, { reachNow, ...sendOptions, from: identity, signal: sendSignal }), { signal: sendSignal })
        const { entry } = sent
        if (sent.delivered) log.emit('sent', { id: entry.id, receipts: entry.receipts.map(r => r.host) })
        else log.emit('outbox', { id: entry.id, to: entry.to ?? '', receipts: entry.receipts.length, replicas: entry.replicas, lastError: entry.lastError })
        return sent
      },
      outbox: async () => await outbox.list(),
      cancelOutbox: async id => {
        const entry = await outbox.cancel(id)
        log.emit('outbox-cancelled', { id: entry.id })
        return entry
      },
      retryOutbox,
      reloadGrants,
      sent: async () => await store.sent(),
      markSeen: async id => {
        const mail = await findMail(store, id)
        const changed = await store.markSeen(mail.entry)
        if (changed) log.emit('seen', { id: shortId(mail.entry), entry: mail.entry })
        return { mail, changed }
      },
      markReplied: async messageId => {
        const answered = (await store.received()).find(m => m.mail.id === messageId)
        return answered !== undefined && await store.markReplied(answered.entry)
      },
      deleteMail: async id => await queue.run(async () => {
        const stored = await findMail(store, id)
        await store.removeReceived(stored.entry)
        log.emit('deleted', { id: shortId(stored.entry), entry: stored.entry })
        return stored
      }),
      grantHost: async (peer, addrs, grantOptions) => await ownerHosts.grant(peer, addrs, grantOptions),
      revokeHost: async peer => await ownerHosts.revoke(peer),
      // With the grant loads (not behind the other steps): served when this resolves.
      acceptGrant: async (grantText, acceptOptions) => await grantLoads.run(async () => {
        const kept = await running.hosting.accept(grantText, acceptOptions)
        served([kept])
        return { owner: kept.owner, bits: kept.bits, ...(kept.expires === undefined ? {} : { expires: kept.expires }), inbox: kept.address }
      }),
      dropHosted: async owner => {
        const peer = parsePeerId(owner).peerId
        if (peer === identity.peerId) throw new InvalidArgumentError(`${peer} is this home's own address: \`ipms host rm\` drops the inboxes kept for friends, not your own`)
        const dropped = await running.hosting.drop(peer)
        log.emit('host-dropped', { owner: dropped.owner, inbox: dropped.inbox, entries: dropped.entries, envelopes: dropped.envelopes })
        return dropped
      },
      addContact: async (name, address, addOptions) => await contacts.add(name, address, addOptions),
      removeContact: async name => await contacts.remove(name),
      issuePass: async (name, passOptions) => await contacts.issuePass(name, identity, passOptions),
      stop,
      stopped: whenStopped,
      ...(hostEvents.url === undefined ? {} : { hostEvents: hostEvents.url }),
      webLink: () => {
        if (web === undefined) throw new NoWebError('This daemon serves no web inbox: start it with ipms daemon --web (or set "web" in config.json), or run ipms web')
        return web.link()
      }
    }
    if (options.api !== false) {
      api = await startApiServer({ home, daemon, config, listen: config.apiListen, signal, onUnexpected: report('answering the local API') })
      daemon.api = api.info
      const webListen = options.web ?? config.web
      if (webListen !== undefined) {
        const handle = createApiHandler({ daemon, home, config, signal, onUnexpected: report('answering the web inbox') })
        web = await startWebServer({ listen: webListen, handle, onUnexpected: report('answering the web inbox') })
        daemon.web = web.url
      }
    }
    return daemon
  } catch (err) {
    // Set-up failed after the node started (a damaged hosts.json, a watcher refused): release the home.
    await api?.close()
    await web?.close()
    stopping.abort()
    for (const cleanup of cleanups.splice(0)) cleanup()
    await Promise.all([queue.idle(), grantLoads.idle()])
    await hook?.stop()
    await hostEvents?.close()
    await running.stop()
    await api?.finish(0)
    throw err
  }
}
