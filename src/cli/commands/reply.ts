/**
 * `ipms reply <id> [file]` and `ipms forward <id> <to> [file]`: a new mail made from one kept
 * here (README, "Replies"). A reply goes to the sender, by the card their mail carried when it
 * did (no lookup, no contact needed), with `Re:`, the real Message-ID in In-Reply-To and the
 * original quoted below the text; the original is then marked answered in the Maildir (`R`). A
 * forward keeps the attachments and puts the original below the text, which is optional.
 * The original is read from this home's mail store, with or without a daemon; the new mail goes
 * through `send`'s path (the daemon when one runs).
 */
import { MAX_SUBJECT_BYTES } from '../../constants.ts'
import type { MailStore, StoredMail } from '../../mail/mail-store.ts'
import type { CliContext } from '../context.ts'
import { localTime, type CliCommand } from '../command.ts'
import { sendingOptions, sendOutgoing } from './send.ts'

/** The mail `id` names here, its sender's petname, and the store it is in. */
async function original (context: CliContext, id: string): Promise<{ stored: StoredMail, name?: string, store: MailStore }> {
  const [{ openMailStore }, { findMail }] = await Promise.all([import('../../mail/mail-store.ts'), import('../../mail/find-mail.ts')])
  const store = openMailStore(context.home, { maildir: false })
  const stored = await findMail(store, id)
  return { stored, name: await context.contacts.nameOf(stored.mail.from), store }
}

/** `prefix subject` unless it starts so already (any case), cut to the subject limit on a character boundary. */
export function prefixed (prefix: string, subject: string): string {
  const text = subject.toLowerCase().startsWith(prefix.toLowerCase()) ? subject : `${prefix} ${subject}`
  let chars = [...text]
  while (Buffer.byteLength(chars.join('')) > MAX_SUBJECT_BYTES) chars = chars.slice(0, -1)
  return chars.join('')
}

/** `> ` before each line (`>` alone on an empty one), as mail readers quote. */
export const quoted = (body: string): string => body.replace(/\n$/, '').split('\n').map(line => line === '' ? '>' : `> ${line}`).join('\n') + '\n'

export const reply: CliCommand = {
  command: 'reply <id> [file]',
  options: y => sendingOptions(y.positional('id', { type: 'string', describe: 'The mail answered (its id in ipms list, or 1 for the newest)' })),
  examples: [['ipms reply 4fQx9z2K answer.txt', 'answer that mail, quoting it'], ['echo "Yes, noon." | ipms reply 1', 'answer the newest mail']],
  run: async (args, context) => {
    const { stored, name, store } = await original(context, String(args.id))
    const { mail } = stored
    await sendOutgoing(args, context, {
      // Their own card, from their mail (checked when it was opened): no lookup, no contact needed.
      to: mail.card ?? mail.from,
      subject: prefixed('Re:', mail.subject),
      inReplyTo: `<${mail.id}@ipms>`,
      after: `On ${localTime(mail.date)}, ${name ?? mail.from} wrote:\n${quoted(mail.body)}`,
      again: `ipms reply ${String(args.id)}`
    })
    await store.markReplied(stored.entry)
  }
}

export const forward: CliCommand = {
  command: 'forward <id> <to> [file]',
  options: y => sendingOptions(y
    .positional('id', { type: 'string', describe: 'The mail forwarded (its id in ipms list)' })
    .positional('to', { type: 'string', describe: 'Contact name, address card (ipmscard…) or peer-id' })),
  examples: [['ipms forward 4fQx9z2K carol', 'pass that mail on to Carol, attachments included'], ['ipms forward 1 carol note.txt', 'with a note above it']],
  run: async (args, context) => {
    const { stored, name } = await original(context, String(args.id))
    const { mail } = stored
    await sendOutgoing(args, context, {
      to: String(args.to),
      subject: prefixed('Fwd:', mail.subject),
      attachments: mail.attachments,
      textOptional: true,
      after: [
        '---------- Forwarded message ----------',
        `From: ${name === undefined ? mail.from : `${name} <${mail.from}@ipms>`}`,
        `Date: ${localTime(mail.date)}`,
        `Subject: ${mail.subject}`,
        `Message-ID: <${mail.id}@ipms>`,
        '',
        mail.body
      ].join('\n'),
      again: `ipms forward ${String(args.id)} ${String(args.to)}`
    })
  }
}
