/**
 * The host side: `ipms host accept|list|rm`, for the inboxes this node keeps for friends. `list`
 * goes through the daemon when one runs; else it starts the home's node to count (host-local.ts).
 */
import { readIdentityInfo } from '../../identity/keystore.ts'
import { keepGrant, type HostedInboxReport } from '../../node/hosting.ts'
import { dropHostedInbox, type DroppedHostedInbox } from '../../node/drop-hosted.ts'
import { parsePeerId } from '../../identity/peer-id.ts'
import { count, humanBytes, isoTime, type CliCommand } from '../command.ts'

const accept: CliCommand = {
  command: 'accept <grant>',
  describe: 'Keep a friend\'s inbox under the grant they gave you',
  options: y => y
    .positional('grant', { type: 'string', describe: 'The grant text (ipmsgrant…)' })
    .option('card', { type: 'string', describe: 'The owner\'s address card: its difficulty and co-hosts' })
    .option('bits', { type: 'number', describe: 'The inbox difficulty, when no card is given (then required: never guessed)' }),
  examples: [['ipms host accept ipmsgrant… --card ipmscard…', 'what `ipms hosts grant` printed for the owner']],
  run: async (args, { home, out, daemon, signal }) => {
    const card = args.card as string | undefined
    const bits = args.bits as number | undefined
    const api = await daemon()
    // Through the daemon, the inbox is served when the answer comes; else it is kept for the next start.
    const kept = api !== undefined
      ? await api.post('/hosted/accept', { grant: String(args.grant), ...(card === undefined ? {} : { card }), ...(bits === undefined ? {} : { bits }) }, { signal }) as { owner: string, bits: number, expires?: number, inbox: string }
      : await (async () => {
        const me = await readIdentityInfo(home)
        const { grant, bits: kept } = await keepGrant(home, me.peerId, String(args.grant), { card, bits })
        return { owner: grant.owner, bits: kept, ...(grant.expires === undefined ? {} : { expires: grant.expires }) }
      })()
    out.result({ owner: kept.owner, bits: kept.bits, expires: kept.expires, daemon: api !== undefined },
      `Keeping the inbox of ${kept.owner} (difficulty ${kept.bits} bits${kept.expires === undefined ? '' : `, until ${isoTime(kept.expires)}`}).`)
    out.info(api !== undefined ? 'The running daemon serves it now.' : 'It is served while `ipms daemon` runs on this home.')
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

const remove: CliCommand = {
  command: 'rm <owner>',
  describe: 'Stop keeping a friend\'s inbox: delete its grant and all its mail from this home',
  options: y => y
    .positional('owner', { type: 'string', describe: 'The owner\'s peer-id, as `ipms host list` shows it' }),
  examples: [['ipms host rm 12D3KooW…', 'a running daemon stops serving it, then drops it']],
  run: async (args, { home, out, daemon, signal }) => {
    const owner = parsePeerId(String(args.owner)).peerId
    // Through the daemon: it stops serving the inbox and closes it before dropping anything.
    const api = await daemon()
    const dropped = api !== undefined
      ? await api.post('/hosted/rm', { owner }, { signal }) as unknown as DroppedHostedInbox
      : await dropHostedInbox(home, owner)
    out.result({ ...dropped }, [
      `No longer keeping the inbox of ${dropped.owner}: deleted its ${count(dropped.entries, 'entry', 'entries')} and ${count(dropped.envelopes, 'envelope')}.`,
      ...(dropped.shared > 0 ? [`Kept ${count(dropped.shared, 'envelope')} that another inbox here carries too.`] : [])
    ])
  }
}

export const host: CliCommand = {
  command: 'host',
  subcommands: [accept, list, remove],
  examples: [
    ['ipms host accept ipmsgrant… --card ipmscard…', 'keep a friend\'s inbox (what their ipms hosts grant printed)'],
    ['ipms host list', 'the inboxes kept here, their mail and grants'],
    ['ipms host rm 12D3KooW…', 'stop keeping one and delete its mail']
  ]
}
