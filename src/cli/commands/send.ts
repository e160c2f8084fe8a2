/**
 * `ipms send <to> [file]`: seal, stamp and deliver a mail; it waits in the outbox until a host
 * signs a receipt. The body comes from FILE or stdin (`ipms send bob < note.txt`).
 */
import { readFile, stat } from 'node:fs/promises'
import { basename, extname } from 'node:path'
import { MAX_MAIL_BYTES } from '../../constants.ts'
import { notDeliveredError, sendSummary } from '../../daemon/views.ts'
import { InvalidArgumentError } from '../../errors.ts'
import type { Attachment } from '../../mail/mail.ts'
import { openOutbox } from '../../node/outbox.ts'
import { resolveRecipient, type RecipientVia } from '../../node/resolve-recipient.ts'
import type { Destination } from '../../node/send-mail.ts'
import { count, isoTime, parseDuration, shortPeer, type CliCommand } from '../command.ts'

/** Media types by file extension, for attachments (anything else is application/octet-stream). */
const MEDIA_TYPES: Record<string, string> = {
  '.txt': 'text/plain', '.md': 'text/markdown', '.html': 'text/html', '.csv': 'text/csv', '.json': 'application/json',
  '.pdf': 'application/pdf', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif',
  '.webp': 'image/webp', '.svg': 'image/svg+xml', '.zip': 'application/zip', '.gz': 'application/gzip',
  '.tar': 'application/x-tar', '.ics': 'text/calendar', '.vcf': 'text/vcard', '.eml': 'message/rfc822'
}

async function readCapped (path: string, what: string): Promise<Buffer> {
  let size: number
  try {
    size = (await stat(path)).size
  } catch (err) {
    throw new InvalidArgumentError(`Cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err })
  }
  if (size > MAX_MAIL_BYTES) throw new InvalidArgumentError(`${what} ${path} is ${size} bytes; a mail carries at most ${MAX_MAIL_BYTES} bytes in all`)
  return await readFile(path)
}

async function readStdin (signal: AbortSignal): Promise<string> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of process.stdin) {
    signal.throwIfAborted()
    total += (chunk as Buffer).byteLength
    if (total > MAX_MAIL_BYTES) throw new InvalidArgumentError(`The message on stdin is over ${MAX_MAIL_BYTES} bytes, the most a mail carries`)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** What the user is told about where the mail goes. */
const VIA: Record<RecipientVia, (name: string, d: Destination) => string> = {
  card: (name, d) => `Delivering to ${name} by the card given (${count(d.hosts.length, 'host')}).`,
  contact: (name, d) => `Delivering to ${name} by their card in your contacts (${count(d.hosts.length, 'host')}).`,
  cache: (name, d) => `Delivering to ${name} by the card found on the DHT a moment ago (${count(d.hosts.length, 'host')}).`,
  dht: (name, d) => `Found ${name}'s hosts on the DHT (${count(d.hosts.length, 'host')}, card of ${isoTime(d.card!.ts)}).`,
  direct: (name) => `${name} has no hosts record on the DHT; delivering to their own node, found on the DHT.`
}

/** `--timeout`, shared by `send` and `outbox retry`: every delivery attempt is bounded by it. */
export const TIMEOUT_OPTION = { type: 'string', default: '30s', describe: 'How long to wait for each host (e.g. 30s, 2m)' } as const

/** The `--timeout` given, in ms; InvalidArgumentError if it is not a duration. */
export function timeoutOf (args: Record<string, unknown>): number {
  const timeoutMs = parseDuration(String(args.timeout))
  if (timeoutMs === undefined) throw new InvalidArgumentError(`--timeout ${String(args.timeout)} is not a duration (examples: 30s, 2m)`)
  return timeoutMs
}

export const send: CliCommand = {
  command: 'send <to> [file]',
  options: y => y
    .positional('to', { type: 'string', describe: 'Contact name, address card (ipmscard…) or peer-id' })
    .positional('file', { type: 'string', describe: 'The message text (default: stdin)', normalize: true })
    .option('subject', { alias: 's', type: 'string', default: '', describe: 'Subject line' })
    .option('attach', { alias: 'a', type: 'string', array: true, default: [], describe: 'Attach a file (repeatable)' })
    .option('replicas', { alias: 'k', type: 'number', default: 1, describe: 'Receipts wanted from distinct hosts' })
    .option('timeout', TIMEOUT_OPTION)
    .option('in-reply-to', { type: 'string', describe: 'The id of the mail this answers' }),
  examples: [
    ['ipms send bob < note.txt', 'the body from stdin, as in the original sketch'],
    ['ipms send bob -s "Photos" -a beach.jpg -a dunes.jpg notes.txt', 'with a subject and two attachments'],
    ['ipms send bob -k 2 letter.txt', 'succeed only once two hosts hold it']
  ],
  run: async (args, context) => {
    const { out, signal, contacts, home } = context
    const timeoutMs = timeoutOf(args)
    const replicas = args.replicas as number
    if (!Number.isInteger(replicas) || replicas < 1) throw new InvalidArgumentError('--replicas must be a whole number ≥ 1')
    const recipient = await resolveRecipient(String(args.to), {
      home,
      config: await context.config(),
      contacts,
      signal,
      onLookup: peer => { out.progress(`Looking up ${shortPeer(peer)} on the DHT…`) }
    })
    const { destination } = recipient
    const name = recipient.name ?? shortPeer(recipient.peer)
    for (const note of recipient.notes) out.info(note)
    out.info(VIA[recipient.via](name, destination) + (destination.pass === undefined ? '' : ' With the pass they gave you.'))
    const attachments: Attachment[] = []
    for (const path of args.attach as string[]) {
      attachments.push({ name: basename(path), type: MEDIA_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream', data: new Uint8Array(await readCapped(path, 'the attachment')) })
    }
    if (typeof args.file !== 'string' && process.stdin.isTTY === true) out.info('Type the message, then Ctrl-D on a line of its own:')
    const body = typeof args.file === 'string' ? (await readCapped(args.file, 'the message file')).toString('utf8') : await readStdin(signal)
    const identity = await context.identity()
    const started = Date.now()
    out.info(`Sealing and stamping a mail for ${name} (difficulty ${destination.bits} bits)…`)
    const sent = await openOutbox(home).send(
      { subject: String(args.subject), body, attachments, ...(args.inReplyTo === undefined ? {} : { inReplyTo: String(args.inReplyTo) }) },
      {
        from: identity,
        card: destination,
        replicas,
        timeoutMs,
        signal,
        onProgress: p => { out.progress(`Solving the proof-of-work (${destination.bits} bits): ${(p.attempts / 1e6).toFixed(1)} M hashes, ${(p.elapsedMs / 1000).toFixed(1)} s`) },
        onHost: host => { out.progress(`Delivering to ${shortPeer(host)}…`) }
      })
    const data = sendSummary(recipient, sent)
    if (!sent.delivered) throw notDeliveredError(sent, data)
    out.result(data, [
      `Sent to ${name} in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
      ...sent.entry.receipts.map(r => `Receipt: ${r.host} stored it at ${isoTime(r.time)} (entry ${r.entry})`)
    ])
  }
}
