/**
 * `ipms daemon`: stay online (the library's `startDaemon`, src/daemon/daemon.ts, does the work).
 * This command parses `--listen` and `--on-mail`, keeps `<home>/daemon.json` for `ipms id`, turns
 * SIGHUP into a reload of the grants, and prints one line per event (event-lines.ts, as `ipms events`);
 * SIGINT / SIGTERM stop it cleanly (exit 0).
 */
import { startDaemon } from '../../daemon/daemon.ts'
import { InvalidArgumentError } from '../../errors.ts'
import { saveListen } from '../../home/config.ts'
import type { CliCommand } from '../command.ts'
import { removeDaemonInfo, writeDaemonInfo } from '../daemon-file.ts'
import { printEvent } from '../event-lines.ts'

/** What `--web` says: "host:port", or nothing for any free port on 127.0.0.1. */
export const webAddress = (given: unknown): string => typeof given === 'string' && given !== '' ? given : '127.0.0.1:0'

export const daemon: CliCommand = {
  command: 'daemon',
  options: y => y
    .option('listen', { type: 'string', array: true, describe: 'Listen on these multiaddrs (repeatable); kept in config.json, so a restart listens there too' })
    .option('web', { type: 'string', describe: 'Serve the web inbox on this loopback host:port (alone: 127.0.0.1, any free port); ipms web prints a login link' })
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
    const listen = args.listen as string[] | undefined
    const identity = await context.identity()
    const running = await startDaemon({
      home,
      identity,
      config: await context.config(),
      listen,
      ...(args.web === undefined ? {} : { web: webAddress(args.web) }),
      signal,
      ...(onMail === undefined ? {} : { onMail: { command: onMail } })
    })
    const reload = (): void => { running.reloadGrants() }
    process.on('SIGHUP', reload)
    try {
      await writeDaemonInfo(home, { pid: process.pid, started: Date.now(), addrs: running.id().addrs })
      // As Jupyter does: a login link on stderr (it works once, within 10 minutes).
      if (running.hostEvents !== undefined) out.info(`Owners' event streams (for their phones) over HTTP at ${running.hostEvents}/ipms/v1/inbox/<peer-id>/events (config "http"; also over libp2p)`)
      if (running.web !== undefined) out.info(`The web inbox: ${running.webLink().url} (a login link that works once, within 10 minutes; ipms web prints another)`)
      // A host's address is in its friends' cards: a restart must listen there again.
      if (listen !== undefined && await saveListen(home, listen)) out.info(`Kept --listen in config.json ("listen"): the next ipms daemon listens there too.`)
      // From the first event on: `started` and what happened while daemon.json was written.
      for await (const event of running.events.subscribe({ since: 0 })) {
        if ('reset' in event) continue // not for a reader in this process that keeps up
        printEvent(out, event, identity.peerId)
      }
    } finally {
      process.off('SIGHUP', reload)
      await running.stop()
      await removeDaemonInfo(home)
    }
  }
}
