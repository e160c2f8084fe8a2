/**
 * `ipms daemon`: stay online. Serves the owner's inbox (senders can deliver to it directly, hosts
 * push new mail at once), reads and stores new mail as it arrives, keeps friends' inboxes under
 * their grants (picking up `ipms host accept` as it happens), applies the host policy, and retries
 * the outbox. One line per event; SIGINT / SIGTERM stop it cleanly (exit 0).
 */
import { watch, type FSWatcher } from 'node:fs'
import { readInbox } from '../../node/read-inbox.ts'
import { openMailStore } from '../../mail/mail-store.ts'
import { startHomeNode } from '../../node/home-node.ts'
import { hostingDirectory } from '../../node/hosting.ts'
import { openOutbox } from '../../node/outbox.ts'
import type { AddressCard, CardHost } from '../../hosting/card.ts'
import { onDhtPeer, publishHostsRecord } from '../../discovery/dht.ts'
import { HOSTS_FILE_NAME } from '../../home/owner-hosts.ts'
import type { Inbox } from '../../stores/open-inbox.ts'
import { shortPeer, type CliCommand } from '../command.ts'
import { removeDaemonInfo, writeDaemonInfo } from '../daemon-file.ts'
import { shortId } from './mail.ts'

/** How often the owner's inbox is synced with the hosts and the hosts with each other, ms. */
const RESYNC_MS = 5 * 60_000
/** How often the outbox is retried (mail whose backoff has passed), ms. */
const OUTBOX_MS = 30_000
/** How often retention runs, ms. */
const RETENTION_MS = 60 * 60_000
/** Delays before syncing again with a host that failed, ms (the last one repeats until RESYNC_MS). */
const HOST_RETRY_MS = [2_000, 5_000, 15_000, 30_000, 60_000]
/** Gathering of bursts (new mail, grant files), ms. */
const SETTLE_MS = 50
/** How often hosts records are published again: hourly, well within kad-dht's 36-hour record age. */
const PUBLISH_MS = 60 * 60_000
/** How soon a failed publication is tried again, ms (also on every new DHT peer). */
const PUBLISH_RETRY_MS = 60_000

export const daemon: CliCommand = {
  command: 'daemon',
  options: y => y.option('listen', { type: 'string', array: true, describe: 'Listen on these multiaddrs instead of the config\'s (repeatable)' }),
  examples: [
    ['ipms daemon', 'run in the foreground; Ctrl-C stops it'],
    ['ipms daemon --listen /ip4/0.0.0.0/tcp/4100 --json', 'a host on a fixed port, JSON lines for a log collector']
  ],
  run: async (args, context) => {
    const { home, out, signal, contacts } = context
    const identity = await context.identity()
    const config = await context.config()
    const running = await startHomeNode({ home, identity, config, listen: args.listen as string[] | undefined, signal })
    const timers: NodeJS.Timeout[] = []
    const cleanups: Array<() => void> = []
    let watcher: FSWatcher | undefined
    let work: Promise<unknown> = Promise.resolve()
    /**
     * Background steps run one at a time; a failure is an event, never the end of the daemon.
     * Resolves when this step is done (whatever was queued after it).
     */
    const serially = async (step: string, fn: () => Promise<void>): Promise<void> => {
      const done = work.then(fn).catch(err => {
        if (!signal.aborted) out.event('error', { step, code: (err as { code?: string }).code, message: (err as Error).message }, `${step} failed: ${(err as Error).message}`)
      })
      work = done
      await done
    }
    const later = (fn: () => void): () => void => {
      let pending: NodeJS.Timeout | undefined
      return () => { pending ??= setTimeout(() => { pending = undefined; fn() }, SETTLE_MS) }
    }
    try {
      const addrs = running.node.multiaddrs()
      await writeDaemonInfo(home, { pid: process.pid, started: Date.now(), addrs })
      out.event('started', { peerId: identity.peerId, inbox: running.inbox.address, addrs, hosted: running.hosting.list().map(h => h.owner) },
        `ipms daemon for ${identity.peerId} on ${addrs.join(' ')}; keeping ${running.hosting.list().length} friend inbox(es)`)
      for (const s of running.hosting.skipped) out.event('grant-skipped', s, `grant ${s.file} not served: ${s.reason}`)
      for (const b of running.unreachableBootstrap) out.event('bootstrap-failed', b, `bootstrap ${b.address} unreachable: ${b.error}`)
      // A full disk: deliveries are refused (ERR_STORAGE_FULL) until space returns; the node retries by itself.
      running.node.storage.events.addEventListener('full', (e) => {
        const message = String((e as CustomEvent<string>).detail)
        out.event('storage-full', { code: 'ERR_STORAGE_FULL', message }, `disk full: refusing deliveries until space is freed (${message})`)
      })
      running.node.storage.events.addEventListener('recovered', () => { out.event('storage-recovered', {}, 'disk space is back: accepting deliveries again') })

      const store = openMailStore(home, { nameOf: contacts.nameOf })
      /** Sync with `replicas` (none: only what is here), store and prune; resolves with the hosts that failed. */
      const readOwn = async (replicas: CardHost[]): Promise<string[]> => {
        let failed: string[] = []
        await serially('reading your inbox', async () => {
          try {
            const result = await readInbox({ node: running.node, sync: running.sync, inbox: running.inbox, identity, replicas, store, signal })
            failed = result.replicas.filter(r => !r.ok).map(r => r.replica)
            for (const r of result.received) {
              const name = await contacts.nameOf(r.mail.from)
              out.event('mail', { id: shortId(r.entry), entry: r.entry, from: r.mail.from, name }, `mail ${shortId(r.entry)} from ${name ?? shortPeer(r.mail.from)} stored`)
            }
            for (const q of result.quarantined) out.event('quarantined', { id: shortId(q.entry), code: q.code }, `mail ${shortId(q.entry)} did not open (${q.code}); kept in quarantine`)
          } catch (err) {
            failed = replicas.map(r => r.peer)
            throw err
          }
        })
        return failed
      }
      const ownHosts = async (): Promise<CardHost[]> => (await (await context.ownerHosts()).list()).map(h => ({ peer: h.peer, addrs: h.addrs }))
      /** This owner's hosts, read again when hosts.json changes (not on every connection). */
      let hosts = await ownHosts()
      // Live mail needs a session with each host (it then pushes to this node): a host that could
      // not be synced is tried again soon, and again whenever a connection to it opens.
      let retryTimer: NodeJS.Timeout | undefined
      const syncHosts = async (hosts: CardHost[], attempt = 0): Promise<void> => {
        const failed = new Set(await readOwn(hosts))
        if (failed.size === 0 || signal.aborted) return
        clearTimeout(retryTimer)
        retryTimer = setTimeout(() => { void syncHosts(hosts.filter(h => failed.has(h.peer)), attempt + 1) }, HOST_RETRY_MS[Math.min(attempt, HOST_RETRY_MS.length - 1)])
        retryTimer.unref()
      }
      cleanups.push(() => { clearTimeout(retryTimer) })
      void syncHosts(hosts)
      const onConnect = (event: CustomEvent<{ toString: () => string }>): void => {
        const peer = event.detail.toString()
        const host = hosts.filter(h => h.peer === peer)
        if (host.length > 0) void syncHosts(host)
      }
      running.node.libp2p.addEventListener('peer:connect', onConnect as never)
      cleanups.push(() => { running.node.libp2p.removeEventListener('peer:connect', onConnect as never) })
      running.inbox.events.on('mail', later(() => { void readOwn([]) }))

      const watchHosted = (inbox: Inbox): void => {
        inbox.events.on('mail', () => { out.event('hosted-mail', { owner: inbox.owner }, `stored a mail for ${shortPeer(inbox.owner)}`) })
        let dropped = 0
        const report = later(() => {
          out.event('hosted-pruned', { owner: inbox.owner, count: dropped }, `dropped ${dropped} mail read by ${shortPeer(inbox.owner)}`)
          dropped = 0
        })
        inbox.events.on('pruned', () => { dropped++; report() })
      }
      for (const { inbox } of running.hosting.list()) watchHosted(inbox)
      /** Publishes hosts records (set below when the DHT runs). */
      let publishSoon = (): void => {}
      const reloadGrants = later(() => {
        void serially('loading grants', async () => {
          const added = await running.hosting.reload()
          for (const inbox of added) {
            watchHosted(inbox)
            out.event('hosting', { owner: inbox.owner, inbox: inbox.address }, `now keeping the inbox of ${inbox.owner}`)
          }
          if (added.length > 0) publishSoon() // the new owner's hosts record, from its card
        })
      })
      watcher = watch(hostingDirectory(home), reloadGrants)
      const homeWatcher = watch(home, (_event, file) => {
        if (file !== HOSTS_FILE_NAME) return
        ownHosts().then(read => { hosts = read }, (err: Error) => { out.event('error', { step: 'reading hosts.json', message: err.message }, `reading hosts.json failed: ${err.message}`) })
        publishSoon() // the new card
      })
      cleanups.push(() => { homeWatcher.close() })
      process.on('SIGHUP', reloadGrants)

      // Hosts records: this owner's own card (when it lists hosts), and the cards of the owners
      // kept here, republished so that they stay findable while their owners are offline.
      let publishTimer: NodeJS.Timeout | undefined
      let published = false
      const publish = later(() => {
        void serially('publishing hosts records', async () => {
          const own = (await (await context.ownerHosts()).card()).card
          const cards = [own, ...running.hosting.list().map(h => h.card)]
            .filter((c): c is AddressCard => c !== undefined && c.hosts.length > 0 && c.expires !== undefined && c.expires > Date.now())
          let failed = false
          for (const card of cards) {
            try {
              const peers = await publishHostsRecord(running.node.libp2p, card, { signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]) })
              out.event('published', { owner: card.owner, ts: card.ts, peers }, `published the hosts record of ${card.owner === identity.peerId ? 'this owner' : shortPeer(card.owner)} on ${peers} DHT peer(s)`)
            } catch (err) {
              if (signal.aborted) return
              failed = true
              out.event('publish-failed', { owner: card.owner, message: (err as Error).message }, `hosts record of ${shortPeer(card.owner)} not published: ${(err as Error).message}`)
            }
          }
          published = !failed
          clearTimeout(publishTimer)
          publishTimer = setTimeout(publish, failed ? PUBLISH_RETRY_MS : PUBLISH_MS)
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
        void serially('syncing co-hosts', async () => {
          for (const o of await running.hosting.syncCoHosts({ signal })) if (!o.ok) out.event('co-host-failed', o, `co-host ${shortPeer(o.host)} unreachable for ${shortPeer(o.inbox)}: ${o.error ?? ''}`)
        })
      }
      syncCoHosts()
      const outbox = openOutbox(home)
      timers.push(
        setInterval(() => { void syncHosts(hosts); syncCoHosts() }, RESYNC_MS),
        setInterval(() => {
          void serially('retrying the outbox', async () => {
            for (const e of await outbox.retry({ signal })) out.event('sent', { id: e.id, receipts: e.receipts.map(r => r.host) }, `outbox mail ${e.id.slice(-8)} delivered`)
          })
        }, OUTBOX_MS),
        setInterval(() => {
          void serially('applying retention', async () => {
            const dropped = await running.hosting.applyRetention(config.hostPolicy.retentionMs)
            if (dropped > 0) out.event('retention', { dropped }, `dropped ${dropped} unread mail past the retention period`)
          })
        }, RETENTION_MS)
      )
      await new Promise<void>(resolve => {
        if (signal.aborted) resolve()
        else signal.addEventListener('abort', () => { resolve() }, { once: true })
      })
      out.event('stopping', {}, 'stopping: finishing what is under way')
    } finally {
      for (const t of timers) clearInterval(t)
      for (const cleanup of cleanups) cleanup()
      watcher?.close()
      await work
      await running.stop()
      await removeDaemonInfo(home)
    }
    out.event('stopped', {}, 'stopped')
  }
}
