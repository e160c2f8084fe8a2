/**
 * `ipms send <to> [file]`: seal, stamp and deliver a mail; it waits in the outbox until a host
 * signs a receipt. The body comes from FILE or stdin (`ipms send bob < note.txt`).
 */
import { readFile, stat } from 'node:fs/promises'
import { basename, extname } from 'node:path'
import { MAX_MAIL_BYTES } from '../../constants.ts'
import { DeliveryRefusedError, InvalidArgumentError, NoHostError, PassExpiredError, UnknownRecipientError } from '../../errors.ts'
import { passBytes, verifyPass } from '../../hosting/pass.ts'
import type { Attachment } from '../../mail/mail.ts'
import type { Draft } from '../../mail/seal.ts'
import type { DaemonClient } from '../../api/client.ts'
import { findDestination } from '../../discovery/find.ts'
import { openCardCache } from '../../home/card-cache.ts'
import type { Recipient } from '../../home/contacts.ts'
import { openOutbox } from '../../node/outbox.ts'
import { cardDestination, type Destination } from '../../node/send-mail.ts'
import type { CliContext } from '../context.ts'
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

type Via = 'card' | 'contact' | 'cache' | 'dht' | 'direct'

/** What the user is told about where the mail goes. */
const VIA: Record<Via, (name: string, d: Destination) => string> = {
  card: (name, d) => `Delivering to ${name} by the card given (${count(d.hosts.length, 'host')}).`,
  contact: (name, d) => `Delivering to ${name} by their card in your contacts (${count(d.hosts.length, 'host')}).`,
  cache: (name, d) => `Delivering to ${name} by the card found on the DHT a moment ago (${count(d.hosts.length, 'host')}).`,
  dht: (name, d) => `Found ${name}'s hosts on the DHT (${count(d.hosts.length, 'host')}, card of ${isoTime(d.card!.ts)}).`,
  direct: (name) => `${name} has no hosts record on the DHT; delivering to their own node, found on the DHT.`
}

/**
 * The pass the recipient gave us, to show their hosts (docs/PROTOCOL.md §11.3); none when they gave
 * none, or when it expired by our clock (the mail then goes as a stranger's, and the user is told).
 */
function recipientPass (recipient: Recipient, name: string, context: CliContext): Uint8Array | undefined {
  if (recipient.contact?.pass === undefined) return undefined
  try {
    return passBytes(verifyPass(recipient.contact.pass, { owner: recipient.peer }))
  } catch (err) {
    if (!(err instanceof PassExpiredError)) throw err
    context.out.info(`${err.message}. Sending without it, as a stranger would.`)
    return undefined
  }
}

/** The recipient's card if the user gave one, else a fresh lookup (cached a few minutes), else their own node. */
async function findRecipient (recipient: Recipient, context: CliContext): Promise<{ destination: Destination, via: Via }> {
  if (recipient.card !== undefined) {
    // A card given on the command line refreshes a contact's older one.
    if (recipient.contact !== undefined) await context.contacts.learnCard(recipient.card)
    return { destination: cardDestination(recipient.card), via: recipient.contact?.card === undefined ? 'card' : 'contact' }
  }
  const cache = openCardCache(context.home)
  const cached = await cache.get(recipient.peer)
  if (cached !== undefined) return { destination: cardDestination(cached), via: 'cache' }
  const config = await context.config()
  if (!config.dht) throw new UnknownRecipientError(`No address card is known for ${recipient.contact?.name ?? recipient.peer}, and the DHT is off in config.json: ask them for their card (ipms card) and add it with ipms contacts add ${recipient.contact?.name ?? 'NAME'} CARD`)
  context.out.progress(`Looking up ${shortPeer(recipient.peer)} on the DHT…`)
  const found = await findDestination(recipient.peer, { bootstrap: config.bootstrap, mdns: config.mdns, dhtProtocol: config.dhtProtocol, signal: context.signal })
  if (found.card !== undefined) await cache.put(found.card)
  return found
}

/** `--timeout`, shared by `send` and `outbox retry`: every delivery attempt is bounded by it. */
export const TIMEOUT_OPTION = { type: 'string', default: '30s', describe: 'How long to wait for each host (e.g. 30s, 2m)' } as const

/** The `--timeout` given, in ms; InvalidArgumentError if it is not a duration. */
export function timeoutOf (args: Record<string, unknown>): number {
  const timeoutMs = parseDuration(String(args.timeout))
  if (timeoutMs === undefined) throw new InvalidArgumentError(`--timeout ${String(args.timeout)} is not a duration (examples: 30s, 2m)`)
  return timeoutMs
}

/** What `ipms send --json` prints (and the API's `/send` ends with). */
export interface SendSummary {
  to: string
  name?: string
  via: Via
  id: string
  inbox: string
  delivered: boolean
  receipts: Array<{ host: string, time: number, entry: string }>
  failures: Array<{ host: string, code: string, message: string }>
}

interface SendSettings { replicas: number, timeoutMs: number, name: string }

/** Seal, stamp and deliver in this process, through the home's outbox. */
async function sendHere (draft: Draft, recipient: Recipient, via: Via, destination: Destination, settings: SendSettings, context: CliContext): Promise<SendSummary> {
  const { out, signal } = context
  const identity = await context.identity()
  out.info(`Sealing and stamping a mail for ${settings.name} (difficulty ${destination.bits} bits)…`)
  const { entry, delivered, failures } = await openOutbox(context.home).send(draft, {
    from: identity,
    card: destination,
    replicas: settings.replicas,
    timeoutMs: settings.timeoutMs,
    signal,
    onProgress: p => { out.progress(powLine(destination.bits, p.attempts, p.elapsedMs)) },
    onHost: host => { out.progress(`Delivering to ${shortPeer(host)}…`) }
  })
  return { to: recipient.peer, name: recipient.contact?.name, via, id: entry.id, inbox: entry.inbox, delivered, receipts: entry.receipts.map(r => ({ host: r.host, time: r.time, entry: r.entry })), failures }
}

/** Hand the mail to the daemon that owns this home's outbox; its progress lines shown as ours. */
async function sendThroughDaemon (api: DaemonClient, to: string, draft: Draft, settings: SendSettings, context: CliContext): Promise<SendSummary> {
  const { out, signal } = context
  out.info(`Sealing and stamping a mail for ${settings.name} through the daemon of this home…`)
  const body = {
    to,
    subject: draft.subject,
    body: draft.body,
    attachments: (draft.attachments ?? []).map(a => ({ name: a.name, type: a.type, data: Buffer.from(a.data).toString('base64') })),
    replicas: settings.replicas,
    timeoutMs: settings.timeoutMs,
    ...(draft.inReplyTo === undefined ? {} : { inReplyTo: draft.inReplyTo })
  }
  return await api.stream('/send', body, p => {
    if (p.stage === 'pow') out.progress(powLine(Number(p.bits ?? 0), Number(p.attempts ?? 0), Number(p.elapsedMs ?? 0)))
    else if (p.stage === 'deliver') out.progress(typeof p.host === 'string' ? `Delivering to ${shortPeer(p.host)}…` : 'Delivering…')
  }, { signal }) as unknown as SendSummary
}

const powLine = (bits: number, attempts: number, elapsedMs: number): string =>
  `Solving the proof-of-work (${bits} bits): ${(attempts / 1e6).toFixed(1)} M hashes, ${(elapsedMs / 1000).toFixed(1)} s`

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
    const { out, signal, contacts } = context
    const timeoutMs = timeoutOf(args)
    const replicas = args.replicas as number
    if (!Number.isInteger(replicas) || replicas < 1) throw new InvalidArgumentError('--replicas must be a whole number ≥ 1')
    // Resolved here on both paths: an unknown name fails before the message is read, as always.
    const recipient = await contacts.resolve(String(args.to))
    const api = await context.daemon()
    const found = api === undefined ? await findRecipient(recipient, context) : undefined
    const attachments: Attachment[] = []
    for (const path of args.attach as string[]) {
      attachments.push({ name: basename(path), type: MEDIA_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream', data: new Uint8Array(await readCapped(path, 'the attachment')) })
    }
    const draft = { subject: String(args.subject), body: '', attachments, ...(args.inReplyTo === undefined ? {} : { inReplyTo: String(args.inReplyTo) }) }
    const name = recipient.contact?.name ?? shortPeer(recipient.peer)
    let destination: Destination | undefined
    if (found !== undefined) {
      const pass = recipientPass(recipient, name, context)
      destination = pass === undefined ? found.destination : { ...found.destination, pass }
      out.info(VIA[found.via](name, destination) + (pass === undefined ? '' : ' With the pass they gave you.'))
    }
    if (typeof args.file !== 'string' && process.stdin.isTTY === true) out.info('Type the message, then Ctrl-D on a line of its own:')
    draft.body = typeof args.file === 'string' ? (await readCapped(args.file, 'the message file')).toString('utf8') : await readStdin(signal)
    const started = Date.now()
    const data = api !== undefined
      ? await sendThroughDaemon(api, String(args.to), draft, { replicas, timeoutMs, name }, context)
      : await sendHere(draft, recipient, found!.via, destination!, { replicas, timeoutMs, name }, context)
    if (data.delivered) {
      out.result({ ...data }, [
        `Sent to ${name} in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
        ...data.receipts.map(r => `Receipt: ${r.host} stored it at ${isoTime(r.time)} (entry ${r.entry})`)
      ])
      return
    }
    const why = data.failures.map(f => `${shortPeer(f.host)}: ${f.message}`).join('; ') || 'no host left to try'
    const unreachable = data.failures.length === 0 || data.failures.some(f => f.code === 'ERR_DELIVERY' || f.code === 'ERR_TIMEOUT')
    const message = `Not delivered yet (${data.receipts.length} of ${replicas} receipts): ${why}. The mail waits in the outbox (${data.id}); ipms outbox retry, or a running daemon, tries again`
    throw unreachable ? new NoHostError(message, data) : new DeliveryRefusedError('ERR_REFUSED', message)
  }
}
