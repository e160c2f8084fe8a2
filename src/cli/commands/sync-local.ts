/**
 * The sync `ipms sync` (sync.ts) does in its own process when no daemon answers: the home's node
 * started for it (the home locked), the inbox read, stored and pruned, the outbox retried, the
 * node stopped. Imported only then: its node modules take most of a second to load.
 */
import { syncSummary } from '../../daemon/views.ts'
import { openMailStore } from '../../mail/mail-store.ts'
import { startHomeNode } from '../../node/home-node.ts'
import { openOutbox } from '../../node/outbox.ts'
import { readInbox } from '../../node/read-inbox.ts'
import { outboxSettings } from '../../node/resolve-recipient.ts'
import { count } from '../command.ts'
import type { CliContext } from '../context.ts'
import { readDaemonInfo } from '../daemon-file.ts'

/** The sync done by this process: the home's node started for it, stopped after. */
export async function syncHere (context: CliContext, prune: boolean, waitMs: number): Promise<ReturnType<typeof syncSummary>> {
  const { home, out, signal, contacts } = context
  const identity = await context.identity()
  const config = await context.config()
  const hosts = await (await context.ownerHosts()).list()
  // A one-off sync only dials out: it listens on loopback, whatever the config says.
  const running = await startHomeNode({
    home,
    identity,
    config,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    signal,
    lockWait: {
      timeoutMs: waitMs,
      // Another sync ends soon; the daemon never does (and syncs by itself): no wait for it.
      waitFor: async holder => (await readDaemonInfo(home))?.pid !== holder.pid,
      onWait: holder => { out.info(`Waiting for another ipms sync (process ${holder.pid}) to finish with this home…`) },
      signal
    }
  })
  if (hosts.length === 0) out.info('You have no hosts: only mail already on this node is read (ipms hosts grant adds one).')
  try {
    // One read of the contacts for the whole sync: the Maildir's From names and the summary.
    const names = await contacts.names()
    out.progress(`Syncing with ${count(hosts.length, 'host')}…`)
    const result = await readInbox({
      node: running.node,
      sync: running.sync,
      inbox: running.inbox,
      identity,
      replicas: hosts.map(h => ({ peer: h.peer, addrs: h.addrs })),
      store: openMailStore(home, { nameOf: async peer => names.get(peer) }),
      contacts,
      prune,
      signal,
      onProgress: (handled, total) => { out.progress(`Opening and storing: ${handled} of ${count(total, 'mail')}`) }
    })
    out.progress('Telling the hosts…')
    await running.sync.idle() // the PRUNE reaches the connected hosts before the node stops
    const delivered = await openOutbox(home, outboxSettings(home, config)).retry({ signal })
    return syncSummary(result, names, delivered)
  } finally {
    await running.stop()
  }
}

