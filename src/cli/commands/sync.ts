/**
 * `ipms sync`: fetch the inbox from the hosts, open and verify each mail, keep it (mail store and
 * Maildir, fsync'd), then prune it from the hosts; also retry the outbox. Needs the home to itself:
 * it waits (bounded, `--wait`) for another `ipms sync` to finish. While a daemon runs, it asks the
 * daemon to sync now (its NDJSON progress shown here) and prints the same result; it fails at
 * once (exit 75) only when the home is held by a process whose API does not answer.
 */
import { InvalidArgumentError } from '../../errors.ts'
import { openMailStore } from '../../mail/mail-store.ts'
import { startHomeNode } from '../../node/home-node.ts'
import { openOutbox } from '../../node/outbox.ts'
import { readInbox } from '../../node/read-inbox.ts'
import { syncSummary } from '../../daemon/views.ts'
import type { ApiProgress } from '../../api/client.ts'
import type { CliContext } from '../context.ts'
import { count, parseDuration, shortPeer, type CliCommand } from '../command.ts'
import { readDaemonInfo } from '../daemon-file.ts'

/** How long `ipms sync` waits by default for another process (not the daemon) to release the home. */
const DEFAULT_WAIT = '2m'

/** What `ipms sync --json` prints (and the API's `/sync` ends with). */
type SyncSummary = ReturnType<typeof syncSummary>

/** A progress line of the daemon's sync, for the terminal. */
function syncProgress (p: ApiProgress): string {
  if (typeof p.handled === 'number' && typeof p.total === 'number') return `Opening and storing: ${p.handled} of ${p.total} mails`
  return typeof p.hosts === 'number' ? `Syncing with ${count(p.hosts, 'host')} (through the daemon)…` : 'Syncing through the daemon…'
}

/** The sync done by this process: the home's node started for it, stopped after. */
async function syncHere (context: CliContext, prune: boolean, waitMs: number): Promise<SyncSummary> {
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
      prune,
      signal,
      onProgress: (handled, total) => { out.progress(`Opening and storing: ${handled} of ${total} mails`) }
    })
    out.progress('Telling the hosts…')
    await running.sync.idle() // the PRUNE reaches the connected hosts before the node stops
    const delivered = await openOutbox(home).retry({ signal })
    return syncSummary(result, names, delivered)
  } finally {
    await running.stop()
  }
}

export const sync: CliCommand = {
  command: 'sync',
  options: y => y
    .option('prune', { type: 'boolean', default: true, describe: 'Tell the hosts to drop what was stored here (--no-prune keeps it there)' })
    .option('wait', { type: 'string', default: DEFAULT_WAIT, describe: 'How long to wait for another ipms sync on this home to finish (0: not at all)' }),
  examples: [['ipms sync', 'fetch, store, prune'], ['ipms sync --no-prune', 'fetch but leave the mail on the hosts too'], ['ipms sync --wait 0', 'exit 75 at once if another ipms uses the home']],
  run: async (args, context) => {
    const { out, signal } = context
    const wait = String(args.wait).trim()
    const waitMs = /^0+[smhd]?$/.test(wait) ? 0 : parseDuration(wait)
    if (waitMs === undefined) throw new InvalidArgumentError(`--wait ${wait} is not a duration: write e.g. 30s or 2m (0: do not wait)`)
    const api = await context.daemon()
    // The daemon always prunes what it stored (it keeps the inbox read): --no-prune is for a sync done here.
    if (api !== undefined && args.prune === false) throw new InvalidArgumentError('--no-prune: the daemon running on this home prunes what it stores; stop it to sync without pruning')
    const result = api !== undefined
      ? await api.stream('/sync', {}, p => { out.progress(syncProgress(p)) }, { signal }) as unknown as SyncSummary
      : await syncHere(context, args.prune !== false, waitMs)
    out.result({ ...result }, [
      `${result.received.length} new mail${result.quarantined.length > 0 ? `, ${result.quarantined.length} that did not open (ipms list --quarantined)` : ''}${result.waiting > 0 ? `, ${result.waiting} still on the way` : ''}.`,
      ...result.received.map(r => `  ${r.id}  ${r.name ?? shortPeer(r.from)}  ${r.subject === '' ? '(no subject)' : r.subject}`),
      ...result.replicas.filter(r => !r.ok).map(r => `Host ${r.replica} failed: ${r.error?.message ?? ''}`),
      ...(result.outboxDelivered.length > 0 ? [`${result.outboxDelivered.length} mail from the outbox delivered.`] : [])
    ])
  }
}
