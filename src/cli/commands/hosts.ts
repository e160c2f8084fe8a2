/**
 * The owner's hosts: `ipms card`, `ipms hosts grant|list|revoke`. Each change re-signs the card;
 * the grant is handed to the host's operator, who runs `ipms host accept`. Every command goes
 * through the daemon when one runs (grant and revoke are then signed by it: no passphrase asked),
 * else works on the home's files.
 */
import { InvalidArgumentError } from '../../errors.ts'
import { verifyCard, type AddressCard } from '../../hosting/card.ts'
import type { GrantedHost } from '../../home/owner-hosts.ts'
import type { grantSummary } from '../../daemon/views.ts'
import { count, isoTime, parseDuration, type CliCommand } from '../command.ts'
import type { CliContext } from '../context.ts'
import type { DaemonClient } from '../../api/client.ts'

/** What `hosts grant --json` prints (views.ts). */
type GrantSummary = ReturnType<typeof grantSummary>

/** Has the grant of `host` expired by `now`? Its host then refuses mail for this inbox. */
const isExpired = (host: { expires?: number }, now: number): boolean => host.expires !== undefined && host.expires <= now

/** The hosts granted, from the daemon when one runs, else from the home. */
const grantedHosts = async (context: CliContext, api: DaemonClient | undefined): Promise<GrantedHost[]> =>
  api === undefined ? await (await context.ownerHosts()).list() : (await api.get('/hosts', { signal: context.signal })).hosts as GrantedHost[]

/** What to do about hosts whose grant expired (stderr). */
const expiredNote = (hosts: Array<{ peer: string, expires?: number }>): string =>
  `${hosts.length === 1 ? 'The grant of 1 host has' : `The grants of ${hosts.length} hosts have`} expired: ${hosts.map(h => `${h.peer} (${isoTime(h.expires!)})`).join(', ')}. ${hosts.length === 1 ? 'It refuses' : 'They refuse'} your mail now: grant again (ipms hosts grant <peer-id> --addr …, then give the operator the new grant) or revoke.`

/** The note after a card (stderr: `ipms card > bob.card` writes the card alone). */
const cardNote = (card: AddressCard): string => card.hosts.length === 0
  ? 'This card lists no host: nobody can deliver to you yet. Grant a friend\'s host: ipms hosts grant <peer-id> --addr <multiaddr>'
  : `Lists ${count(card.hosts.length, 'host')}: ${card.hosts.map(h => h.peer).join(', ')}; difficulty ${card.bits} bits. Give it to people who will write to you.`

export const card: CliCommand = {
  command: 'card',
  examples: [['ipms card', 'print the card to paste to a friend'], ['ipms card --json | jq -r .card', 'the card alone']],
  run: async (_args, context) => {
    const api = await context.daemon()
    const { text, card } = api === undefined
      ? await (await context.ownerHosts()).card()
      : await (async () => { const text = String((await api.get('/card', { signal: context.signal })).card); return { text, card: verifyCard(text) } })()
    context.out.result({ card: text, owner: card.owner, bits: card.bits, hosts: card.hosts, ts: card.ts }, text)
    context.out.info(cardNote(card))
    // The card lists hosts, not their grants: the expiry of each is in the owner's hosts.
    const now = Date.now()
    const granted = await grantedHosts(context, api)
    const expired = granted.filter(h => isExpired(h, now) && card.hosts.some(c => c.peer === h.peer))
    if (expired.length > 0) context.out.info(expiredNote(expired))
  }
}

const grant: CliCommand = {
  command: 'grant <peer-id>',
  describe: 'Let a friend\'s host keep your inbox; prints the grant to give its operator',
  options: y => y
    .positional('peer-id', { type: 'string', describe: 'The host\'s peer-id, or its address ending in /p2p/<peer-id> (what `ipms id` prints on the host)' })
    .option('addr', { type: 'string', array: true, describe: 'Where senders reach the host (multiaddr, repeatable; not needed when the host is named by its address)' })
    .option('expires', { type: 'string', describe: 'Grant lifetime, e.g. 90d or 12h (default: until revoked)' }),
  examples: [
    ['ipms hosts grant /ip4/203.0.113.7/tcp/4100/p2p/12D3KooW…', 'grant a host named by the address its ipms id prints'],
    ['ipms hosts grant 12D3KooW… --addr /ip4/203.0.113.7/tcp/4100 --expires 365d', 'grant a host for a year']
  ],
  run: async (args, context) => {
    let ttlMs: number | undefined
    if (args.expires !== undefined) {
      ttlMs = parseDuration(String(args.expires))
      if (ttlMs === undefined) throw new InvalidArgumentError(`--expires ${String(args.expires)} is not a duration (examples: 90d, 12h, 30m)`)
    }
    const named = (await import('../../home/owner-hosts.ts')).grantedHostOf(String(args.peerId))
    const peer = named.peer
    const addrs = [...named.addrs, ...((args.addr as string[] | undefined) ?? []).map(String)]
    if (addrs.length === 0) throw new InvalidArgumentError(`Say where senders reach the host: --addr /ip4/…/tcp/… (or give its whole address, as ipms id on the host prints it: ipms hosts grant /ip4/…/tcp/…/p2p/${peer})`)
    // Through the daemon, it signs with its key: no passphrase asked.
    const api = await context.daemon()
    const granted = api !== undefined
      ? await api.post('/hosts/grant', { peer, addrs, ...(ttlMs === undefined ? {} : { ttlMs }) }, { signal: context.signal }) as GrantSummary
      : await (async () => {
        const { host, card } = await (await context.ownerHosts()).grant(peer, addrs, { ttlMs })
        return (await import('../../daemon/views.ts')).grantSummary(host, card)
      })()
    // Data on stdout (the command for the host's operator), notes on stderr.
    context.out.info(`Granted ${granted.host}${granted.expires === undefined ? '' : ` until ${isoTime(granted.expires)}`}. Its operator runs:`)
    context.out.result(granted, granted.accept)
    context.out.info('Your card changed: give the new one (ipms card) to the people who write to you.')
  }
}

const list: CliCommand = {
  command: 'list',
  describe: 'The hosts you granted',
  examples: [['ipms hosts list --json', 'with their grants, for scripts']],
  run: async (_args, context) => {
    const api = await context.daemon()
    const granted = await grantedHosts(context, api)
    const now = Date.now()
    const hosts = granted.map(h => ({ ...h, expired: isExpired(h, now) }))
    context.out.result({ hosts }, hosts.length === 0
      ? ['No hosts yet: ipms hosts grant <peer-id> --addr <multiaddr>']
      : hosts.map(h => `${h.peer}  ${h.addrs.join(' ')}  granted ${isoTime(h.issued)}${h.expires === undefined ? '' : h.expired ? `, GRANT EXPIRED ${isoTime(h.expires)}` : `, expires ${isoTime(h.expires)}`}`))
    const expired = hosts.filter(h => h.expired)
    if (expired.length > 0) context.out.info(expiredNote(expired))
  }
}

const revoke: CliCommand = {
  command: 'revoke <peer-id>',
  describe: 'Drop a host from your card (it keeps what it has until its grant expires)',
  options: y => y.positional('peer-id', { type: 'string', describe: 'The host\'s peer-id, as ipms hosts list shows it' }),
  examples: [['ipms hosts revoke 12D3KooW…', 'then give people your new card']],
  run: async (args, context) => {
    const peer = String(args.peerId)
    const api = await context.daemon()
    const revoked = api !== undefined
      ? await api.post('/hosts/revoke', { peer }, { signal: context.signal }) as { host: string, card: string, expires?: number }
      : await (async () => {
        const { host, card } = await (await context.ownerHosts()).revoke(peer)
        return { host: host.peer, card, ...(host.expires === undefined ? {} : { expires: host.expires }) }
      })()
    // The new card on stdout (what the people who write to you need), notes on stderr.
    context.out.result(revoked, revoked.card)
    context.out.info(`${revoked.host} is no longer in your card. Give the new card (above; ipms card) to the people who write to you.`)
    context.out.info(revoked.expires === undefined ? 'Its grant has no expiry: ask its operator to drop your inbox.' : `Its grant ends ${isoTime(revoked.expires)}.`)
  }
}

export const hosts: CliCommand = {
  command: 'hosts',
  subcommands: [grant, list, revoke],
  examples: [
    ['ipms hosts grant 12D3KooW… --addr /ip4/203.0.113.7/tcp/4100/p2p/12D3KooW…', 'let a friend\'s host keep your inbox (the address its ipms id prints)'],
    ['ipms hosts list', 'the hosts in your card, with their grants'],
    ['ipms hosts revoke 12D3KooW…', 'drop one from your card']
  ]
}
