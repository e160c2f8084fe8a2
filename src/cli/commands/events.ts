/**
 * `ipms events` (alias `watch`): the events of the daemon running on this home as they happen,
 * through its local API (Server-Sent Events), one line each in the format `ipms daemon` prints
 * (event-lines.ts); `--json` gives JSON lines a script reads, and `--since ID` first replays what
 * followed the event ID (`eventId` in the JSON lines) while the daemon still keeps it. Ends when
 * the daemon stops (exit 0); exit 69 when no daemon runs. With `--host`, it watches one of your
 * hosts' event streams instead, as a phone would, and syncs when mail comes (watch-host.ts).
 */
import { InvalidArgumentError, NoDaemonError } from '../../errors.ts'
import { readIdentityInfo } from '../../identity/keystore.ts'
import type { CliCommand } from '../command.ts'
import { printEvent } from '../event-lines.ts'

export const events: CliCommand = {
  command: 'events',
  aliases: ['watch'],
  options: y => y
    .option('since', { type: 'number', describe: 'First replay the events after this id (eventId in --json lines; 0: all the daemon keeps)' })
    .option('host', { type: 'string', describe: 'Watch this host\'s stream of your inbox instead (its http:// URL, its peer-id from your hosts, or its multiaddr), and sync when mail comes' }),
  examples: [
    ['ipms events', 'watch the daemon: mail arriving, mail sent, hosts'],
    ['ipms events --json | jq -r \'select(.event == "mail") | .id\'', 'the id of each new mail, for a script'],
    ['ipms events --json --since 41', 'resume after the last event a script handled'],
    ['ipms watch --host http://host.example:8443', 'as a phone: your host tells of new mail, and it is synced at once']
  ],
  run: async (args, context) => {
    const { home, out, signal } = context
    if (args.host !== undefined) {
      if (args.since !== undefined) throw new InvalidArgumentError('--since is for the daemon\'s events; a host\'s stream starts from now')
      await (await import('./watch-host.ts')).watchHostCommand(String(args.host), context)
      return
    }
    const since = args.since as number | undefined
    if (since !== undefined && (!Number.isSafeInteger(since) || since < 0)) throw new InvalidArgumentError(`--since ${String(since)} is not an event id: a whole number ≥ 0`)
    const api = await context.daemon()
    if (api === undefined) throw new NoDaemonError(`No daemon runs on ${home}: start one (ipms daemon), then watch its events${args.offline === true ? ' (and drop --offline: events come from the daemon)' : ''}`)
    const self = (await readIdentityInfo(home)).peerId
    for await (const event of api.events({ ...(since === undefined ? {} : { since }), signal })) {
      if ('reset' in event) {
        out.event('reset', { last: event.last }, `missed events: the daemon no longer keeps those after ${String(since ?? 0)} (it is at ${event.last}); read the state again (ipms list, ipms outbox)`)
        continue
      }
      printEvent(out, event, self)
    }
  }
}
