/**
 * The host side: `ipms host accept|list`, for the inboxes this node keeps for friends. `list`
 * goes through the daemon when one runs; else it starts the home's node to count (host-local.ts).
 */
import { readIdentityInfo } from '../../identity/keystore.ts'
import { keepGrant, type HostedInboxReport } from '../../node/hosting.ts'
import { count, humanBytes, isoTime, type CliCommand } from '../command.ts'
import { readDaemonInfo } from '../daemon-file.ts'

const accept: CliCommand = {
  command: 'accept <grant>',
  describe: 'Keep a friend\'s inbox under the grant they gave you',
  options: y => y
    .positional('grant', { type: 'string', describe: 'The grant text (ipmsgrant…)' })
    .option('card', { type: 'string', describe: 'The owner\'s address card: its difficulty and co-hosts' })
    .option('bits', { type: 'number', describe: 'The inbox difficulty when no card is given (default 24)' }),
  examples: [['ipms host accept ipmsgrant… --card ipmscard…', 'what `ipms hosts grant` printed for the owner']],
  run: async (args, { home, out }) => {
    const me = await readIdentityInfo(home)
    const { grant, bits } = await keepGrant(home, me.peerId, String(args.grant), { card: args.card as string | undefined, bits: args.bits as number | undefined })
    const daemon = await readDaemonInfo(home)
    out.result({ owner: grant.owner, bits, expires: grant.expires, daemon: daemon !== undefined }, [
      `Keeping the inbox of ${grant.owner} (difficulty ${bits} bits${grant.expires === undefined ? '' : `, until ${isoTime(grant.expires)}`}).`,
      daemon !== undefined ? 'The running daemon serves it now.' : 'It is served while `ipms daemon` runs on this home.'
    ])
  }
}

/** A row of `ipms host list --json` (the API's `/hosted`). */
type HostedRow = Omit<HostedInboxReport, 'address'> & { inbox: string }

/** One kept inbox for people: owner, difficulty, mail held, grant dates; an expired grant said plainly. */
function hostedLine (h: HostedRow): string {
  const grant = h.expired
    ? `GRANT EXPIRED on ${isoTime(h.expires!)}: not served (the owner can send a new grant)`
    : `granted ${isoTime(h.issued)}${h.expires === undefined ? '' : `, until ${isoTime(h.expires)}`}`
  const held = h.error !== undefined
    ? `cannot be read: ${h.error}`
    : `${count(h.pending, 'mail')} pending, ${humanBytes(h.bytes)}${h.lastMail === undefined ? '' : `, newest ${isoTime(h.lastMail)}`}`
  return `${h.owner}  ${h.bits} bits  ${held}  ${grant}${h.coHosts > 0 ? `, ${count(h.coHosts, 'co-host')}` : ''}`
}

const list: CliCommand = {
  command: 'list',
  describe: 'The inboxes this node keeps for friends: mail held, grant expiry',
  examples: [['ipms host list', 'owner, difficulty, pending mail, bytes, newest mail, grant dates'], ['ipms host list --json', 'the same for scripts; expired: true marks an expired grant']],
  run: async (_args, context) => {
    const { out, signal } = context
    const api = await context.daemon()
    // Through the daemon when one runs (it holds the home); else a node started here for the count.
    const { hosted, skipped } = api !== undefined
      ? await api.get('/hosted', { signal }) as unknown as { hosted: HostedRow[], skipped?: Array<{ file: string, reason: string }> }
      : await (await import('./host-local.ts')).hostedHere(context)
    // An expired grant shows on its inbox's line: not again among the unusable files.
    const owners = new Set(hosted.map(h => `${h.owner}.json`))
    const unusable = (skipped ?? []).filter(s => !owners.has(s.file))
    out.result({ inboxes: hosted, skipped: unusable }, hosted.length === 0 && unusable.length === 0
      ? ['No inboxes kept here. A friend grants this node with: ipms hosts grant <this peer-id> --addr <multiaddr>']
      : [...hosted.map(hostedLine), ...unusable.map(s => `${s.file}: not used: ${s.reason}`)])
  }
}

export const host: CliCommand = {
  command: 'host',
  subcommands: [accept, list]
}
