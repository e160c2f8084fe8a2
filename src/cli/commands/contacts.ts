/** `ipms contacts add|list|rm`: petnames for addresses, with their cards. */
import { verifyCard } from '../../hosting/card.ts'
import { count, type CliCommand } from '../command.ts'

const add: CliCommand = {
  command: 'add <name> <address>',
  describe: 'Name an address: an address card (ipmscard…) or a peer-id',
  options: y => y
    .positional('name', { type: 'string' })
    .positional('address', { type: 'string', describe: 'An address card, or a peer-id' })
    .option('force', { type: 'boolean', default: false, describe: 'Give the name to another peer' }),
  examples: [['ipms contacts add bob ipmscard…', 'Bob, with his card (needed to send)']],
  run: async (args, { contacts, out }) => {
    const contact = await contacts.add(String(args.name), String(args.address), { replace: args.force === true })
    const hosts = contact.card === undefined ? 0 : verifyCard(contact.card).hosts.length
    out.result({ contact }, `${contact.name} is ${contact.peer}${contact.card === undefined ? ' (no card yet: add their card to send to them)' : ` (card with ${count(hosts, 'host')})`}`)
  }
}

const list: CliCommand = {
  command: 'list',
  describe: 'Your contacts',
  examples: [['ipms contacts list', 'name and peer-id of each']],
  run: async (_args, { contacts, out }) => {
    const all = await contacts.list()
    out.result({ contacts: all }, all.length === 0 ? ['No contacts yet: ipms contacts add NAME CARD'] : all.map(c => `${c.name}  ${c.peer}${c.card === undefined ? '  (no card)' : ''}`))
  }
}

const rm: CliCommand = {
  command: 'rm <name>',
  describe: 'Forget a contact',
  options: y => y.positional('name', { type: 'string' }),
  examples: [['ipms contacts rm bob', 'forget the name (mail already read stays)']],
  run: async (args, { contacts, out }) => {
    const contact = await contacts.remove(String(args.name))
    out.result({ contact }, `Forgot ${contact.name} (${contact.peer})`)
  }
}

export const contacts: CliCommand = {
  command: 'contacts',
  subcommands: [add, list, rm]
}
