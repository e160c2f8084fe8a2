/**
 * `ipms list`, `ipms read` and `ipms rm`: the mail kept in this home, newest first. Through the daemon when
 * one runs (its `/mail` answers are what `--json` prints here), else from the mail store; one
 * formatter for both. `list --quarantined` and `read --save` read the store itself.
 */
import type { mailRow, sentRow } from '../../daemon/views.ts'
import { count, humanBytes as human, localTime, shortPeer, type CliCommand } from '../command.ts'
import { safeText } from '../safe-text.ts'

/** The store's side, loaded only when no daemon answers. */
const here = async (): Promise<typeof import('./mail-local.ts')> => await import('./mail-local.ts')


/** One line of `ipms list` (and of the API's `/mail`). */
type ListRow = ReturnType<typeof mailRow>
/** One line of `ipms list --sent` (the API's `/sent`). */
type SentRow = ReturnType<typeof sentRow>

/** What `ipms read --json` prints of a mail (views.ts' mailDetail; the API's `/mail/:id`). */
interface ReadMail {
  id: string, entry: string, env: string, from: string, name?: string, to: string, date: number, messageId: string,
  inReplyTo?: string, subject: string, body: string, attachments: Array<{ name: string, type: string, size: number }>
}

/** One column of state, as mutt shows it: N unread, ! flagged, r replied, else blank. */
const stateMark = (row: ListRow): string => row.unread ? 'N' : row.flagged ? '!' : row.replied ? 'r' : ' '

export const list: CliCommand = {
  command: 'list',
  options: y => y
    .option('quarantined', { type: 'boolean', default: false, describe: 'List the mail that did not open, and why' })
    .option('all', { type: 'boolean', default: false, describe: 'Also the mail deleted, moved away or trashed in a mail tool (kept here until ipms rm)' })
    .option('sent', { type: 'boolean', default: false, describe: 'The mail you sent instead (also in the Maildir\'s .Sent folder)' })
    .option('threads', { type: 'boolean', default: false, describe: 'Group by conversation (replies under what they answer; your own sent mail included)' }),
  examples: [['ipms list', 'N (unread), id, date, sender, size, subject'], ['ipms list --json | jq ".mail[0]"', 'the newest, for scripts']],
  run: async (args, { home, out, contacts, daemon, signal }) => {
    if (args.quarantined === true) {
      const kept = await (await here()).quarantinedRows(home)
      out.result({ quarantined: kept }, kept.length === 0 ? ['Nothing in quarantine.'] : kept.map(q => `${q.id}  ${localTime(q.receivedAt)}  ${q.code}: ${q.reason}`))
      return
    }
    const api = await daemon()
    if (args.sent === true) {
      const sent = api !== undefined ? (await api.get('/sent', { signal })).sent as SentRow[] : await (await here()).sentRows(home, contacts)
      out.result({ sent }, sent.length === 0
        ? ['Nothing sent from here yet.']
        : sent.map(r => `${r.id}  ${localTime(r.date)}  to ${(r.name ?? shortPeer(r.to)).padEnd(15)}  ${human(r.size).padStart(9)}  ${r.subject === '' ? '(no subject)' : r.subject}${r.attachments > 0 ? ` [${count(r.attachments, 'attachment')}]` : ''}`))
      return
    }
    const all = args.all === true
    const answer = api !== undefined ? await api.get(all ? '/mail?all=1' : '/mail', { signal }) : undefined
    const rows = answer !== undefined ? answer.mail as ListRow[] : await (await here()).listRows(home, contacts, { all })
    const line = (r: ListRow, indent = ''): string => `${stateMark(r)} ${r.id}  ${localTime(r.date)}  ${indent}${(r.name ?? shortPeer(r.from)).padEnd(18)}  ${human(r.size).padStart(9)}  ${r.subject === '' ? '(no subject)' : r.subject}${r.attachments > 0 ? ` [${count(r.attachments, 'attachment')}]` : ''}`
    if (args.threads === true) {
      const sent = api !== undefined ? (await api.get('/sent', { signal })).sent as SentRow[] : await (await here()).sentRows(home, contacts)
      const { threadsOf } = await import('../../mail/threads.ts')
      const items: Array<ListRow | SentRow> = [...rows, ...sent]
      const threads = threadsOf(items).filter(t => t.mail.some(m => 'from' in m.item)) // conversations with mail here
      const sentLine = (r: SentRow, indent: string): string => `  ${r.id}  ${localTime(r.date)}  ${indent}${`→ ${r.name ?? shortPeer(r.to)}`.padEnd(18)}  ${human(r.size).padStart(9)}  ${r.subject === '' ? '(no subject)' : r.subject}`
      out.result({ threads: threads.map(t => ({ root: t.root, mail: t.mail.map(m => ({ depth: m.depth, ...('from' in m.item ? { received: m.item } : { sent: m.item }) })) })) },
        threads.length === 0
          ? ['No mail here yet (ipms sync fetches it).']
          : threads.flatMap((t, i) => [...(i === 0 ? [] : ['']), ...t.mail.map(({ depth, item }) => {
            const indent = depth === 0 ? '' : `${'  '.repeat(depth - 1)}└ `
            return 'from' in item ? line(item, indent) : sentLine(item, indent)
          })]))
      return
    }
    out.result({ mail: rows }, rows.length === 0 ? ['No mail here yet (ipms sync fetches it).'] : rows.map(r => line(r)))
    // Names come from contacts.json: a damaged one shows peer-ids, and says so (checked only when no
    // name shows; the daemon checks it itself, so a listing through it loads no contacts code here).
    if (answer !== undefined) {
      if (typeof answer.contactsProblem === 'string') out.info(`Senders are shown by peer-id: ${answer.contactsProblem}`)
    } else if (rows.length > 0 && rows.every(r => r.name === undefined)) {
      await contacts.list().catch((err: Error & { code?: string }) => { if (err.code === 'ERR_CONFIG') out.info(`Senders are shown by peer-id: ${err.message}`) })
    }
  }
}

/** Raw bytes for a pipe (a mail tool reads them); on a terminal, controls shown as for `read`. */
function writeRaw (message: Uint8Array | string): void {
  process.stdout.write(process.stdout.isTTY === true ? safeText(typeof message === 'string' ? message : Buffer.from(message).toString('utf8')) : message)
}

export const read: CliCommand = {
  command: 'read <id>',
  options: y => y
    .positional('id', { type: 'string', describe: 'A mail: its id in ipms list (or at least 4 characters of its end), or its rank (1 = the newest)' })
    .option('save', { type: 'string', normalize: true, describe: 'Save the attachments into this directory' })
    .option('raw', { type: 'boolean', default: false, describe: 'Print it as an RFC 5322 message' })
    .option('peek', { type: 'boolean', default: false, describe: 'Leave it unread (it is marked read in the Maildir otherwise)' }),
  examples: [['ipms read 1', 'the newest mail'], ['ipms read 4fQx9z2K --save ~/Downloads', 'and save its attachments']],
  run: async (args, { home, out, contacts, daemon, signal }) => {
    const raw = args.raw === true && !out.json
    const peek = args.peek === true
    // Saving attachments needs their bytes: read from the store itself.
    const api = typeof args.save === 'string' ? undefined : await daemon()
    let mail: ReadMail
    let saved: string[] = []
    if (api !== undefined) {
      const path = `/mail/${encodeURIComponent(String(args.id))}`
      // Read, then marked read: a mail that could not be shown stays unread.
      if (raw) {
        const text = String((await api.get(`${path}?raw=1`, { signal })).raw)
        if (!peek) await api.post(`${path}/seen`, {}, { signal })
        writeRaw(text)
        return
      }
      mail = (await api.get(path, { signal })).mail as ReadMail
      if (!peek) await api.post(`${path}/seen`, {}, { signal })
    } else {
      const found = await (await here()).readHere(home, String(args.id), contacts, { ...(typeof args.save === 'string' ? { save: args.save } : {}), raw, peek })
      if ('raw' in found) {
        writeRaw(found.raw)
        return
      }
      mail = found.mail as unknown as ReadMail
      saved = found.saved
    }
    const { name } = mail
    out.result({ mail, saved }, [
      `From:    ${name === undefined ? mail.from : `${name} (${mail.from})`} — signature verified`,
      `To:      ${mail.to}`,
      `Date:    ${localTime(mail.date)}`,
      `Subject: ${mail.subject}`,
      `Message-ID: <${mail.messageId}@ipms>`,
      ...(mail.inReplyTo === undefined ? [] : [`In-Reply-To: <${mail.inReplyTo}@ipms>`]),
      ...(mail.attachments.length > 0 ? [`Attached: ${mail.attachments.map(a => `${a.name} (${a.type}, ${human(a.size)})`).join(', ')}`] : []),
      ...saved.map(p => `Saved:   ${p}`),
      '',
      mail.body
    ])
  }
}

export const rm: CliCommand = {
  command: 'rm <id>',
  aliases: ['delete'],
  options: y => y.positional('id', { type: 'string', describe: 'A mail: its id in ipms list (or at least 4 characters of its end), or its rank (1 = the newest)' }),
  examples: [['ipms rm 4fQx9z2K', 'delete that mail here (and from the Maildir)'], ['ipms rm 1', 'the newest']],
  run: async (args, { home, out, daemon, signal }) => {
    const id = String(args.id)
    const api = await daemon()
    const deleted = api !== undefined
      ? (await api.post(`/mail/${encodeURIComponent(id)}/delete`, {}, { signal })).deleted as { id: string, entry: string }
      : await (await here()).deleteHere(home, id)
    out.result({ deleted }, `Deleted mail ${deleted.id}.`)
  }
}
