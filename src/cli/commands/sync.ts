/**
 * `ipms sync`: fetch the inbox from the hosts, open and verify each mail, keep it (mail store and
 * Maildir, fsync'd), then prune it from the hosts; also retry the outbox. Needs the home to itself:
 * it waits (bounded, `--wait`) for another `ipms sync` to finish. While a daemon runs, it asks the
 * daemon to sync now (its NDJSON progress shown here) and prints the same result; it fails at
 * once (exit 75) only when the home is held by a process whose API does not answer.
 */
import type { ApiProgress } from '../../api/client.ts'
import type { syncSummary } from '../../daemon/views.ts'
import { InvalidArgumentError } from '../../errors.ts'
import { count, parseDuration, shortPeer, type CliCommand } from '../command.ts'

/** How long `ipms sync` waits by default for another process (not the daemon) to release the home. */
const DEFAULT_WAIT = '2m'

/** What `ipms sync --json` prints (and the API's `/sync` ends with). */
type SyncSummary = ReturnType<typeof syncSummary>

/** A progress line of the daemon's sync, for the terminal. */
function syncProgress (p: ApiProgress): string {
  if (typeof p.handled === 'number' && typeof p.total === 'number') return `Opening and storing: ${p.handled} of ${count(p.total, 'mail')}`
  return typeof p.hosts === 'number' ? `Syncing with ${count(p.hosts, 'host')} (through the daemon)…` : 'Syncing through the daemon…'
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
      : await (await import('./sync-local.ts')).syncHere(context, args.prune !== false, waitMs)
    out.result({ ...result }, [
      `${count(result.received.length, 'new mail')}${result.quarantined.length > 0 ? `, ${result.quarantined.length} that did not open (ipms list --quarantined)` : ''}${result.waiting > 0 ? `, ${result.waiting} still on the way` : ''}.`,
      ...result.received.map(r => `  ${r.id}  ${r.name ?? shortPeer(r.from)}  ${r.subject === '' ? '(no subject)' : r.subject}`),
      ...result.replicas.filter(r => !r.ok).map(r => `Host ${r.replica} failed: ${r.error?.message ?? ''}`),
      ...(result.outboxDelivered.length > 0 ? [`${count(result.outboxDelivered.length, 'mail')} from the outbox delivered.`] : [])
    ])
  }
}
