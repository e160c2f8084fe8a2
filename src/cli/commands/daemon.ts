/**
 * `ipms daemon`: stay online (the library's `startDaemon`, src/daemon/daemon.ts, does the work).
 * This command parses `--listen` and `--on-mail`, keeps `<home>/daemon.json` for `ipms id`, turns
 * SIGHUP into a reload of the grants, and prints one line per event (a JSON line with --json);
 * SIGINT / SIGTERM stop it cleanly (exit 0).
 */
import { startDaemon } from '../../daemon/daemon.ts'
import type { DaemonEvent } from '../../daemon/events.ts'
import { InvalidArgumentError } from '../../errors.ts'
import { shortPeer, type CliCommand } from '../command.ts'
import { removeDaemonInfo, writeDaemonInfo } from '../daemon-file.ts'

/** The line for people of each event. */
function describe (event: DaemonEvent, self: string): string {
  switch (event.type) {
    case 'started': return `ipms daemon for ${event.data.peerId} on ${event.data.addrs.join(' ')}; keeping ${event.data.hosted.length} friend inbox(es)`
    case 'grant-skipped': return `grant ${event.data.file} not served: ${event.data.reason}`
    case 'bootstrap-failed': return `bootstrap ${event.data.address} unreachable: ${event.data.error}`
    case 'storage-full': return `disk full: refusing deliveries until space is freed (${event.data.message})`
    case 'storage-recovered': return 'disk space is back: accepting deliveries again'
    case 'mail': return `mail ${event.data.id} from ${event.data.name ?? shortPeer(event.data.from)} stored`
    case 'quarantined': return `mail ${event.data.id} did not open (${event.data.code}); kept in quarantine`
    case 'hosted-mail': return `stored a mail for ${shortPeer(event.data.owner)}`
    case 'hosted-pruned': return `dropped ${event.data.count} mail read by ${shortPeer(event.data.owner)}`
    case 'hosting': return `now keeping the inbox of ${event.data.owner}`
    case 'published': return `published the hosts record of ${event.data.owner === self ? 'this owner' : shortPeer(event.data.owner)} on ${event.data.peers} DHT peer(s)`
    case 'publish-failed': return `hosts record of ${shortPeer(event.data.owner)} not published: ${event.data.message}`
    case 'co-host-failed': return `co-host ${shortPeer(event.data.host)} unreachable for ${shortPeer(event.data.inbox)}: ${event.data.error ?? ''}`
    case 'sent': return `outbox mail ${event.data.id.slice(-8)} delivered`
    case 'outbox': return `mail ${event.data.id.slice(-8)} waits in the outbox (${event.data.receipts} of ${event.data.replicas} receipts): ${event.data.lastError ?? ''}`
    case 'retention': return `dropped ${event.data.dropped} unread mail past the retention period`
    case 'error': return `${event.data.step} failed: ${event.data.message}`
    case 'stopping': return 'stopping: finishing what is under way'
    case 'stopped': return 'stopped'
  }
}

export const daemon: CliCommand = {
  command: 'daemon',
  options: y => y
    .option('listen', { type: 'string', array: true, describe: 'Listen on these multiaddrs instead of the config\'s (repeatable)' })
    .option('on-mail', { type: 'string', describe: 'Run this command (sh -c) for each new mail; IPMS_MAIL_ID, IPMS_MAIL_FROM, IPMS_MAIL_SUBJECT, IPMS_HOME in its environment' }),
  examples: [
    ['ipms daemon', 'run in the foreground; Ctrl-C stops it'],
    ['ipms daemon --listen /ip4/0.0.0.0/tcp/4100 --json', 'a host on a fixed port, JSON lines for a log collector'],
    ['ipms daemon --on-mail \'notify-send "mail from $IPMS_MAIL_FROM" "$IPMS_MAIL_SUBJECT"\'', 'a desktop notification per new mail']
  ],
  run: async (args, context) => {
    const { home, out, signal } = context
    const onMail = args.onMail as string | undefined
    if (onMail !== undefined && onMail.trim() === '') throw new InvalidArgumentError('--on-mail needs a command (example: --on-mail \'echo "$IPMS_MAIL_ID" >> ~/new-mail\')')
    const identity = await context.identity()
    const running = await startDaemon({
      home,
      identity,
      config: await context.config(),
      listen: args.listen as string[] | undefined,
      signal,
      ...(onMail === undefined ? {} : { onMail: { command: onMail } })
    })
    const reload = (): void => { running.reloadGrants() }
    process.on('SIGHUP', reload)
    try {
      await writeDaemonInfo(home, { pid: process.pid, started: Date.now(), addrs: running.id().addrs })
      // From the first event on: `started` and what happened while daemon.json was written.
      for await (const event of running.events.subscribe({ since: 0 })) {
        if ('reset' in event) continue // not for a reader in this process that keeps up
        out.event(event.type, event.data, describe(event, identity.peerId))
      }
    } finally {
      process.off('SIGHUP', reload)
      await running.stop()
      await removeDaemonInfo(home)
    }
  }
}
