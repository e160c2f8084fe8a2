/** `ipms list` and `ipms read`: the mail kept in this home, newest first. */
import { mailDetail, mailRow } from '../../daemon/views.ts'
import { findMail, shortId } from '../../mail/find-mail.ts'
import { openMailStore } from '../../mail/mail-store.ts'
import { renderMessage } from '../../mail/rfc5322.ts'
import { count, isoTime, shortPeer, type CliCommand } from '../command.ts'
import { safeText } from '../safe-text.ts'
import { saveAttachments } from '../save-attachments.ts'

const human = (bytes: number): string => bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`

export const list: CliCommand = {
  command: 'list',
  options: y => y.option('quarantined', { type: 'boolean', default: false, describe: 'List the mail that did not open, and why' }),
  examples: [['ipms list', 'id, date, sender, size, subject'], ['ipms list --json | jq ".mail[0]"', 'the newest, for scripts']],
  run: async (args, { home, out, contacts }) => {
    const store = openMailStore(home, { maildir: false })
    if (args.quarantined === true) {
      const kept = await store.quarantined()
      out.result({ quarantined: kept.map(q => ({ id: shortId(q.entry), entry: q.entry, env: q.env, receivedAt: q.receivedAt, code: q.code, reason: q.reason })) },
        kept.length === 0 ? ['Nothing in quarantine.'] : kept.map(q => `${shortId(q.entry)}  ${isoTime(q.receivedAt)}  ${q.code}: ${q.reason}`))
      return
    }
    const received = await store.received()
    const names = await contacts.names()
    const rows = received.map(r => mailRow(r, names))
    out.result({ mail: rows }, rows.length === 0
      ? ['No mail here yet (ipms sync fetches it).']
      : rows.map(r => `${r.id}  ${isoTime(r.date)}  ${(r.name ?? shortPeer(r.from)).padEnd(18)}  ${human(r.size).padStart(9)}  ${r.subject === '' ? '(no subject)' : r.subject}${r.attachments > 0 ? ` [${count(r.attachments, 'attachment')}]` : ''}`))
  }
}

export const read: CliCommand = {
  command: 'read <id>',
  options: y => y
    .positional('id', { type: 'string' })
    .option('save', { type: 'string', normalize: true, describe: 'Save the attachments into this directory' })
    .option('raw', { type: 'boolean', default: false, describe: 'Print it as an RFC 5322 message' }),
  examples: [['ipms read 1', 'the newest mail'], ['ipms read 4fQx9z2K --save ~/Downloads', 'and save its attachments']],
  run: async (args, { home, out, contacts }) => {
    const stored = await findMail(openMailStore(home, { maildir: false }), String(args.id))
    const { mail } = stored
    const name = await contacts.nameOf(mail.from)
    const saved = typeof args.save === 'string' ? await saveAttachments(args.save, mail.attachments) : []
    if (args.raw === true && !out.json) {
      // Raw bytes for a pipe (a mail tool reads them); on a terminal, controls shown as for `read`.
      const message = await renderMessage(stored, { fromName: name })
      process.stdout.write(process.stdout.isTTY === true ? safeText(Buffer.from(message).toString('utf8')) : message)
      return
    }
    out.result({
      mail: mailDetail(stored, name),
      saved
    }, [
      `From:    ${name === undefined ? mail.from : `${name} (${mail.from})`} — signature verified`,
      `Date:    ${new Date(mail.date).toString()}`,
      `Subject: ${mail.subject}`,
      ...(mail.attachments.length > 0 ? [`Attached: ${mail.attachments.map(a => `${a.name} (${a.type}, ${human(a.data.byteLength)})`).join(', ')}`] : []),
      ...saved.map(p => `Saved:   ${p}`),
      '',
      mail.body
    ])
  }
}
