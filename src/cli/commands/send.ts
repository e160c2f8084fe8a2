/**
 * `ipms send <to> [file]`: seal, stamp and deliver a mail; it waits in the outbox until a host
 * signs a receipt. The body comes from FILE or stdin (`ipms send bob < note.txt`).
 */
import { readNamedFile, readStdinCapped } from '../user-input.ts'
import { basename, extname } from 'node:path'
import { MAX_MAIL_BYTES } from '../../constants.ts'
import type { Argv } from 'yargs'
import type { DaemonClient } from '../../api/client.ts'
import { DeliveryRefusedError, InvalidArgumentError, NoHostError } from '../../errors.ts'
import type { DraftFile } from '../compose.ts'
import type { Attachment } from '../../mail/mail.ts'
import type { Draft } from '../../mail/seal.ts'
import type { RecipientVia } from '../../node/resolve-recipient.ts'
import type { CliContext } from '../context.ts'
import { count, isoTime, parseDuration, shortPeer, TIMEOUT_OPTION, timeoutOf, type CliCommand } from '../command.ts'

/** Media types by file extension, for attachments (anything else is application/octet-stream). */
const MEDIA_TYPES: Record<string, string> = {
  '.txt': 'text/plain', '.md': 'text/markdown', '.html': 'text/html', '.csv': 'text/csv', '.json': 'application/json',
  '.pdf': 'application/pdf', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif',
  '.webp': 'image/webp', '.svg': 'image/svg+xml', '.zip': 'application/zip', '.gz': 'application/gzip',
  '.tar': 'application/x-tar', '.ics': 'text/calendar', '.vcf': 'text/vcard', '.eml': 'message/rfc822'
}

/** A file the user named, whole, if a mail can carry it; InvalidArgumentError saying why not. */
const readCapped = async (path: string, what: string): Promise<Buffer> => await readNamedFile(path, {
  what,
  maxBytes: MAX_MAIL_BYTES,
  tooLarge: size => `${what} ${path} is ${size} bytes; a mail carries at most ${MAX_MAIL_BYTES} bytes in all`,
  ...(what === 'the attachment' ? { directory: 'it is a directory: attach its files one by one (-a FILE), or an archive of it' } : {})
})

/**
 * The message text: UTF-8, or refused (issue #14: Latin-1 `café` became `caf\uFFFD`, random bytes
 * a page of U+FFFD). A leading BOM is dropped.
 */
export function bodyText (bytes: Uint8Array, where: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new InvalidArgumentError(`${where} is not UTF-8 text: send a file as an attachment (-a FILE), or convert the text first (iconv -f latin1 -t utf-8)`)
  }
}

/** What the user is told about where the mail goes: `hosts` in the card, the card's time (`dht`). */
const VIA: Record<RecipientVia, (name: string, hosts: number, cardTs?: number) => string> = {
  card: (name, hosts) => `Delivering to ${name} by the card given (${count(hosts, 'host')}).`,
  contact: (name, hosts) => `Delivering to ${name} by their card in your contacts (${count(hosts, 'host')}).`,
  cache: (name, hosts) => `Delivering to ${name} by the card found on the DHT a moment ago (${count(hosts, 'host')}).`,
  dht: (name, hosts, cardTs) => `Found ${name}'s hosts on the DHT (${count(hosts, 'host')}, card of ${cardTs === undefined ? '?' : isoTime(cardTs)}).`,
  direct: (name) => `${name} has no hosts record on the DHT; delivering to their own node, found on the DHT.`
}

/** The line saying how the mail goes, and whether with the recipient's pass. */
const viaLine = (via: RecipientVia, name: string, hosts: number, cardTs: number | undefined, pass: boolean): string =>
  VIA[via](name, hosts, cardTs) + (pass ? ' With the pass they gave you.' : '')

/** What `ipms send --json` prints (views.ts' sendSummary; the API's `/send` ends with it). */
export interface SendSummary {
  id: string
  delivered: boolean
  receipts: Array<{ host: string, time: number, entry: string }>
  [field: string]: unknown
}

export interface SendSettings { replicas: number, timeoutMs: number, name: string, /** Carry the sender's own card (--no-card: not). */ ownCard: boolean }

/** Hand the mail to the daemon that owns this home's outbox; its progress lines shown as ours. */
async function sendThroughDaemon (api: DaemonClient, to: string, draft: Draft, settings: SendSettings, context: CliContext): Promise<SendSummary> {
  const { out, signal } = context
  const body = {
    to,
    subject: draft.subject,
    body: draft.body,
    attachments: (draft.attachments ?? []).map(a => ({ name: a.name, type: a.type, data: Buffer.from(a.data).toString('base64') })),
    replicas: settings.replicas,
    timeoutMs: settings.timeoutMs,
    ownCard: settings.ownCard,
    ...(draft.inReplyTo === undefined ? {} : { inReplyTo: draft.inReplyTo })
  }
  return await api.stream('/send', body, p => {
    if (p.stage === 'lookup' && typeof p.peer === 'string') out.progress(`Looking up ${shortPeer(p.peer)} on the DHT…`)
    else if (p.stage === 'resolve') {
      // The daemon found the recipient: the same notes as a send done here.
      for (const note of Array.isArray(p.notes) ? p.notes : []) out.info(String(note))
      if (typeof p.via === 'string' && Object.hasOwn(VIA, p.via)) out.info(viaLine(p.via as RecipientVia, settings.name, Number(p.hosts ?? 0), typeof p.cardTs === 'number' ? p.cardTs : undefined, p.pass === true))
      out.info(`Sealing and stamping a mail for ${settings.name} (difficulty ${Number(p.bits ?? 0)} bits)…`)
    } else if (p.stage === 'pow') out.progress(powLine(Number(p.bits ?? 0), Number(p.attempts ?? 0), Number(p.elapsedMs ?? 0)))
    else if (p.stage === 'deliver') out.progress(typeof p.host === 'string' ? `Delivering to ${shortPeer(p.host)}…` : 'Delivering…')
  }, { signal }) as unknown as SendSummary
}

/** The recipient's name as the user will read it: their contact name, else the short peer-id. */
async function displayName (to: string, context: CliContext): Promise<string> {
  const recipient = await context.contacts.resolve(to)
  return recipient.contact?.name ?? shortPeer(recipient.peer)
}

export const powLine = (bits: number, attempts: number, elapsedMs: number): string =>
  `Solving the proof-of-work (${bits} bits): ${(attempts / 1e6).toFixed(1)} M hashes, ${(elapsedMs / 1000).toFixed(1)} s`

/** The options `send`, `reply` and `forward` share: the text file, attachments, receipts, timeout, card. */
export const sendingOptions = (y: Argv): Argv => y
  .positional('file', { type: 'string', describe: 'The message text (default: stdin)', normalize: true })
  // Not `array: true`: that takes every word after -a, the message file too (`-a a.jpg notes.txt`).
  .option('attach', { alias: 'a', type: 'string', requiresArg: true, describe: 'Attach a file (repeat -a for each)' })
  .option('replicas', { alias: 'k', type: 'number', default: 1, describe: 'Receipts wanted from distinct hosts' })
  .option('timeout', TIMEOUT_OPTION)
  .option('card', { type: 'boolean', default: true, describe: 'Carry your card (your hosts) so that they can answer at once; --no-card: not' })

export const send: CliCommand = {
  command: 'send <to> [file]',
  options: y => sendingOptions(y
    .positional('to', { type: 'string', describe: 'Contact name, address card (ipmscard…) or peer-id' })
    .option('subject', { alias: 's', type: 'string', default: '', describe: 'Subject line' })
    .option('in-reply-to', { type: 'string', requiresArg: true, describe: 'The mail this answers: its id in ipms list, or its Message-ID' })),
  examples: [
    ['ipms send bob < note.txt', 'the body from stdin, as in the original sketch'],
    ['ipms send bob -s "Photos" -a beach.jpg -a dunes.jpg notes.txt', 'with a subject and two attachments'],
    ['ipms send bob -k 2 letter.txt', 'succeed only once two hosts hold it'],
    ['ipms send alice --in-reply-to 4fQx9z2K -s "Re: Lunch?" answer.txt', 'answer a mail (its id in ipms list)']
  ],
  run: async (args, context) => {
    await sendOutgoing(args, context, {
      to: String(args.to),
      subject: String(args.subject),
      ...(args.inReplyTo === undefined ? {} : { inReplyTo: String(args.inReplyTo) }),
      again: `ipms send ${String(args.to).length > 80 ? 'CARD' : String(args.to)}`
    })
  }
}

/** A mail to send, as `send`, `reply` and `forward` make it (the text comes from FILE or stdin). */
export interface Outgoing {
  to: string
  subject: string
  /** Attachments already in hand (a forwarded mail's), before the files given with `-a`. */
  attachments?: Attachment[]
  /** The mail answered: an id from `ipms list` or a Message-ID. */
  inReplyTo?: string
  /** Text after what the user writes: the quoted or forwarded mail. */
  after?: string
  /** With it, nothing is asked on a terminal when no FILE is given: the user's text is optional. */
  textOptional?: boolean
  /** The command that sends a kept draft again (`ipms send bob`), told when a send is cut short. */
  again: string
}

/**
 * Resolve, compose, stamp and deliver `outgoing` with the command's `file`, `attach`, `replicas`,
 * `timeout` and `card` options (sendingOptions): through the daemon when one runs, else here. Prints the result.
 */
export async function sendOutgoing (args: Record<string, unknown>, context: CliContext, outgoing: Outgoing): Promise<void> {
  const { out, signal, contacts } = context
  const timeoutMs = timeoutOf(args)
  const replicas = args.replicas as number
  if (!Number.isInteger(replicas) || replicas < 1) throw new InvalidArgumentError('--replicas must be a whole number ≥ 1')
  const api = await context.daemon()
  // Through the daemon, it resolves the recipient (and says how, in a progress line); here, now:
  // either way an unknown name fails before the message is read.
  const local = api !== undefined ? undefined : await import('./send-local.ts')
  const recipient = local === undefined
    ? undefined
    : await local.resolveRecipient(outgoing.to, { home: context.home, config: await context.config(), contacts, signal, onLookup: peer => { out.progress(`Looking up ${shortPeer(peer)} on the DHT…`) } })
  const name = recipient === undefined ? await displayName(outgoing.to, context) : recipient.name ?? shortPeer(recipient.peer)
  if (recipient !== undefined) {
    for (const note of recipient.notes) out.info(note)
    const { destination } = recipient
    out.info(viaLine(recipient.via, name, destination.hosts.length, destination.card?.ts, destination.pass !== undefined))
  }
  // The mail answered, found here before anything is read or stamped (the daemon finds it itself).
  const replyTo = outgoing.inReplyTo === undefined || api !== undefined ? outgoing.inReplyTo : await local!.replyTargetHere(context.home, outgoing.inReplyTo)
  const attachments: Attachment[] = [...outgoing.attachments ?? []]
  for (const path of [args.attach ?? []].flat().map(String)) {
    attachments.push({ name: basename(path), type: MEDIA_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream', data: new Uint8Array(await readCapped(path, 'the attachment')) })
  }
  const draft = { subject: outgoing.subject, body: '', attachments, ...(replyTo === undefined ? {} : { inReplyTo: replyTo }) }
  const file = typeof args.file === 'string' ? args.file : undefined
  let text = ''
  let draftFile: DraftFile | undefined
  if (file !== undefined) text = bodyText(await readCapped(file, 'the message file'), `The message file ${file}`)
  else if (process.stdin.isTTY !== true) text = bodyText(await readStdinCapped(MAX_MAIL_BYTES, `The message on stdin is over ${MAX_MAIL_BYTES} bytes, the most a mail carries`, signal), 'The message on stdin')
  else if (outgoing.textOptional !== true) {
    // On a terminal: $VISUAL / $EDITOR, or typed at a prompt; a draft file until it is handed over.
    draftFile = await (await import('../compose.ts')).composeOnTerminal(context.home, out, signal, { again: outgoing.again })
    text = bodyText(draftFile.bytes, `The text in ${draftFile.path}`)
  }
  if (outgoing.subject === '' && text.trim() === '' && attachments.length === 0 && outgoing.after === undefined) {
    await draftFile?.done()
    throw new InvalidArgumentError('An empty mail (no subject, no text, no attachment) is not sent')
  }
  draft.body = outgoing.after === undefined ? text : `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${text === '' ? '' : '\n'}${outgoing.after}`
  // -k more than the card's hosts: refused before the proof-of-work (and after the text is read, as the daemon does).
  if (recipient !== undefined) local!.wantedReceipts(recipient.destination, replicas)
  const started = Date.now()
  const settings = { replicas, timeoutMs, name, ownCard: args.card !== false }
  // Not delivered: thrown by both (notDeliveredError), with the same message and exit code.
  let data: SendSummary
  try {
    data = api !== undefined ? await sendThroughDaemon(api, outgoing.to, draft, settings, context) : await local!.sendHere(draft, recipient!, settings, context)
  } catch (err) {
    // Waiting in the outbox (not delivered yet): the draft's text is safe there. Else it is kept.
    if (err instanceof NoHostError || err instanceof DeliveryRefusedError) await draftFile?.done()
    else if (draftFile !== undefined) out.info(draftFile.kept)
    throw err
  }
  await draftFile?.done()
  out.result({ ...data }, [
    `Sent to ${name} in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
    ...data.receipts.map(r => `Receipt: ${r.host} stored it at ${isoTime(r.time)} (entry ${r.entry})`)
  ])
}
