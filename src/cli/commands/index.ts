/**
 * The index of the CLI's commands: names and one-line descriptions, with each command's module
 * loaded only when that command runs. A command that needs no node starts in a fraction of the
 * time: Helia alone takes about 1.5 s to import here.
 */
import type { CliCommand } from '../command.ts'

export interface CommandEntry {
  /** yargs command string, as in the module. */
  command: string
  describe: string
  /** Other names it answers to (as in the module). */
  aliases?: string[]
  load: () => Promise<CliCommand>
}

export const COMMANDS: CommandEntry[] = [
  { command: 'init', describe: 'Create your IPMS identity (your address) and home', load: async () => (await import('./init.ts')).init },
  { command: 'id', describe: 'Show your address, inbox address, hosts and (while the daemon runs) listening addresses', load: async () => (await import('./id.ts')).id },
  { command: 'card', describe: 'Print your signed address card: what senders need to reach your hosts', load: async () => (await import('./hosts.ts')).card },
  { command: 'hosts', describe: 'Manage the hosts that keep your inbox: grant, list, revoke', load: async () => (await import('./hosts.ts')).hosts },
  { command: 'host', describe: 'Keep friends\' inboxes on this node: accept, list, rm', load: async () => (await import('./host.ts')).host },
  { command: 'contacts', describe: 'Names for the people you write to: add, list, rm, pass', load: async () => (await import('./contacts.ts')).contacts },
  { command: 'send <to> [file]', describe: 'Send a mail: to a contact name, an address card, or a peer-id whose card you have', load: async () => (await import('./send.ts')).send },
  { command: 'reply <id> [file]', describe: 'Answer a mail: to its sender (by the card it carried), quoted, threaded', load: async () => (await import('./reply.ts')).reply },
  { command: 'forward <id> <to> [file]', describe: 'Pass a mail on to someone else, attachments included', load: async () => (await import('./reply.ts')).forward },
  { command: 'sync', describe: 'Fetch your mail from your hosts, keep it here, and have the hosts drop it', load: async () => (await import('./sync.ts')).sync },
  { command: 'list', describe: 'List the mail kept here, newest first', load: async () => (await import('./mail.ts')).list },
  { command: 'read <id>', describe: 'Print a mail (its id from ipms list, or 1 for the newest)', load: async () => (await import('./mail.ts')).read },
  { command: 'rm <id>', aliases: ['delete'], describe: 'Delete a mail kept here (and its Maildir copy)', load: async () => (await import('./mail.ts')).rm },
  { command: 'outbox', describe: 'Mail waiting for a receipt: list it, or retry it now', load: async () => (await import('./outbox.ts')).outbox },
  { command: 'events', aliases: ['watch'], describe: 'Print the running daemon\'s events as they happen', load: async () => (await import('./events.ts')).events },
  { command: 'passphrase', describe: 'Add, change or remove the passphrase of your key', load: async () => (await import('./keys.ts')).passphrase },
  { command: 'export <file>', describe: 'Write a backup of your key, contacts, hosts and config, sealed under a passphrase', load: async () => (await import('./keys.ts')).export },
  { command: 'import <file>', describe: 'Restore a home from a backup made by ipms export', load: async () => (await import('./keys.ts')).import },
  { command: 'web', describe: 'A login link to the web inbox (starts the daemon with it if none runs)', load: async () => (await import('./web.ts')).web },
  { command: 'daemon', describe: 'Stay online: receive mail as it arrives, keep friends\' inboxes, retry the outbox', load: async () => (await import('./daemon.ts')).daemon }
]
