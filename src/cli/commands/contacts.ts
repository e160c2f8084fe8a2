/**
 * `ipms contacts add|list|rm|pass`: petnames for addresses, with their cards and the passes they
 * gave us; `pass` gives a contact a pass past a full quota (docs/PROTOCOL.md §11.3).
 */
import { DEFAULT_PASS_TTL_MS } from '../../constants.ts'
import { InvalidArgumentError } from '../../errors.ts'
import { verifyCard } from '../../hosting/card.ts'
import type { Contact } from '../../home/contacts.ts'
import { readIdentityInfo } from '../../identity/keystore.ts'
import { count, isoTime, parseDuration, type CliCommand } from '../command.ts'

const add: CliCommand = {
  command: 'add <name> <address>',
  describe: 'Name an address: an address card (ipmscard…) or a peer-id',
  options: y => y
    .positional('name', { type: 'string', describe: 'The name you will write to (any printable text, e.g. Zoë or "Bob Smith")' })
    .positional('address', { type: 'string', describe: 'An address card, or a peer-id' })
    .option('force', { type: 'boolean', default: false, describe: 'Give the name to another peer' })
    .option('pass', { type: 'string', describe: 'The pass they gave you (ipmspass…), shown to their hosts when you write' }),
  examples: [
    ['ipms contacts add bob ipmscard…', 'Bob, with his card (needed to send)'],
    ['ipms contacts add bob 12D3KooW… --pass ipmspass…', 'keep the pass Bob gave you: your mail gets past his full quota']
  ],
  run: async (args, { contacts, out, daemon, signal }) => {
    const [name, address, force] = [String(args.name), String(args.address), args.force === true]
    const pass = args.pass === undefined ? undefined : String(args.pass)
    const api = await daemon()
    const contact = api !== undefined
      ? (await api.post('/contacts/add', { name, address, force, ...(pass === undefined ? {} : { pass }) }, { signal })).contact as Contact
      : await contacts.add(name, address, { replace: force, ...(pass === undefined ? {} : { pass }) })
    const hosts = contact.card === undefined ? 0 : verifyCard(contact.card).hosts.length
    out.result({ contact }, `${contact.name} is ${contact.peer}${contact.card === undefined ? ' (no card yet: add their card to send to them)' : ` (card with ${count(hosts, 'host')})`}${contact.pass === undefined ? '' : ', with their pass'}`)
  }
}

const list: CliCommand = {
  command: 'list',
  describe: 'Your contacts',
  examples: [['ipms contacts list', 'name and peer-id of each']],
  run: async (_args, { contacts, out, daemon, signal }) => {
    const api = await daemon()
    const answer = api === undefined ? undefined : await api.get('/contacts', { signal })
    const all = answer === undefined ? await contacts.list() : answer.contacts as Contact[]
    const issued = answer === undefined ? await contacts.issued() : answer.issued as Awaited<ReturnType<typeof contacts.issued>>
    const given = (name: string): string => {
      const last = issued.filter(p => p.to === name).at(-1)
      return last === undefined ? '' : `  (pass given${last.expires === undefined ? '' : `, until ${isoTime(last.expires)}`})`
    }
    out.result({ contacts: all, issued }, all.length === 0
      ? ['No contacts yet: ipms contacts add NAME CARD']
      : all.map(c => `${c.name}  ${c.peer}${c.card === undefined ? '  (no card)' : ''}${c.pass === undefined ? '' : '  (their pass)'}${given(c.name)}`))
  }
}

const rm: CliCommand = {
  command: 'rm <name>',
  describe: 'Forget a contact',
  options: y => y.positional('name', { type: 'string', describe: 'The contact forgotten' }),
  examples: [['ipms contacts rm bob', 'forget the name (mail already read stays)']],
  run: async (args, { contacts, out, daemon, signal }) => {
    const name = String(args.name)
    const api = await daemon()
    const contact = api !== undefined ? (await api.post('/contacts/rm', { name }, { signal })).contact as Contact : await contacts.remove(name)
    out.result({ contact }, `Forgot ${contact.name} (${contact.peer})`)
  }
}

const pass: CliCommand = {
  command: 'pass <name>',
  describe: 'Give a contact a pass: their mail gets past a quota that strangers have filled',
  options: y => y
    .positional('name', { type: 'string', describe: 'The contact who gets it' })
    .option('expires', { type: 'string', default: '365d', describe: 'Pass lifetime, e.g. 365d or 30d (passes cannot be revoked)' }),
  examples: [['ipms contacts pass alice', 'prints the pass to give Alice (valid a year)']],
  run: async (args, context) => {
    const ttlMs = parseDuration(String(args.expires))
    if (ttlMs === undefined) throw new InvalidArgumentError(`--expires ${String(args.expires)} is not a duration (examples: 365d, 30d, 12h)`)
    const name = String(args.name)
    // Through the daemon, it signs with its key: no passphrase asked.
    const api = await context.daemon()
    const given = api !== undefined
      ? await api.post('/contacts/pass', { name, ttlMs }, { signal: context.signal }) as { pass: string, id: string, issued: number, expires?: number }
      : await (async () => {
        const { text, issued } = await context.contacts.issuePass(name, await context.identity(), { ttlMs })
        return { pass: text, id: issued.id, issued: issued.issued, expires: issued.expires }
      })()
    const keep = `ipms contacts add NAME ${(await readIdentityInfo(context.home)).peerId} --pass ${given.pass}`
    context.out.result({ pass: given.pass, id: given.id, to: name, issued: given.issued, expires: given.expires, keep }, [
      `A pass for ${name}, valid until ${isoTime(given.expires ?? ttlMs + given.issued)}. Give it to them; they keep it with:`,
      '',
      keep,
      '',
      'Your hosts then count their mail against the pass\'s own share, not the strangers\' quota (they learn that these mails come from one contact, not who).'
    ])
  }
}

export const contacts: CliCommand = {
  command: 'contacts',
  subcommands: [add, list, rm, pass],
  examples: [
    ['ipms contacts add bob ipmscard…', 'name the card Bob gave you'],
    ['ipms contacts list', 'your names and their peer-ids'],
    ['ipms contacts pass alice', 'a pass that lets Alice past your hosts\' quota for strangers']
  ]
}
