/**
 * The plain-data shapes of what a home holds, as `ipms … --json` prints them and the daemon's
 * local API answers them (docs/API.md): one function per shape, so that a command run locally and
 * the same command answered by a running daemon print the same document.
 */
import { DeliveryRefusedError, NoHostError, type IpmsError } from '../errors.ts'
import { shortPeer } from '../identity/peer-id.ts'
import { shortId } from '../mail/find-mail.ts'
import { count } from '../util/count.ts'
import type { GrantedHost } from '../home/owner-hosts.ts'
import type { ListedMail, SentMail, StoredMail } from '../mail/mail-store.ts'
import { destinationOfEntry, type OutboxEntry, type RetryReport } from '../node/outbox.ts'
import type { ReadInboxResult } from '../node/read-inbox.ts'
import type { ResolvedRecipient } from '../node/resolve-recipient.ts'
import type { DeliveryFailure } from '../node/send-mail.ts'

/** Peer-id → petname (`contacts.names()`). */
export type Names = ReadonlyMap<string, string>

/** The bytes a mail carries: body and attachments. */
export const mailSize = (stored: { mail: StoredMail['mail'] }): number =>
  Buffer.byteLength(stored.mail.body) + stored.mail.attachments.reduce((n, a) => n + a.data.byteLength, 0)

/** A row of `ipms list --json`'s `mail`. */
export function mailRow (stored: ListedMail, names: Names): { id: string, entry: string, messageId: string, inReplyTo?: string, from: string, name?: string, date: number, subject: string, size: number, attachments: number, unread: boolean, flagged: boolean, replied: boolean } {
  const { mail, state } = stored
  return {
    id: shortId(stored.entry),
    entry: stored.entry,
    messageId: mail.id,
    ...(mail.inReplyTo === undefined ? {} : { inReplyTo: mail.inReplyTo }),
    from: mail.from,
    name: names.get(mail.from),
    date: mail.date,
    subject: mail.subject,
    size: mailSize(stored),
    attachments: mail.attachments.length,
    // As the Maildir says (a mail tool may have read, flagged or answered it); unread without a Maildir.
    unread: state?.seen !== true,
    flagged: state?.flagged === true,
    replied: state?.replied === true
  }
}

/** A row of `ipms list --sent --json`'s `sent`: a mail sent from this home. */
export function sentRow (sent: SentMail, names: Names): { id: string, env: string, messageId: string, inReplyTo?: string, to: string, name?: string, date: number, subject: string, size: number, attachments: number } {
  const { mail } = sent
  return {
    id: shortId(sent.env),
    env: sent.env,
    messageId: mail.id,
    ...(mail.inReplyTo === undefined ? {} : { inReplyTo: mail.inReplyTo }),
    to: mail.to,
    name: names.get(mail.to),
    date: mail.date,
    subject: mail.subject,
    size: mailSize(sent),
    attachments: mail.attachments.length
  }
}

/** What a reader shows of any mail: who, when, what; attachments described (not their bytes). */
const mailContent = (mail: StoredMail['mail']): Record<string, unknown> => ({
  from: mail.from,
  to: mail.to,
  date: mail.date,
  messageId: mail.id,
  inReplyTo: mail.inReplyTo,
  subject: mail.subject,
  body: mail.body,
  attachments: mail.attachments.map(a => ({ name: a.name, type: a.type, size: a.data.byteLength }))
})

/** `ipms read --json`'s `mail`: the whole mail received, with the sender's name and the card it carried. */
export const mailDetail = (stored: StoredMail, name: string | undefined): Record<string, unknown> =>
  ({ id: shortId(stored.entry), entry: stored.entry, env: stored.env, name, card: stored.mail.card, ...mailContent(stored.mail) })

/** A mail sent from this home, whole, with the recipient's name: GET /sent/:id, the web inbox's reader. */
export const sentDetail = (sent: SentMail, name: string | undefined): Record<string, unknown> =>
  ({ id: shortId(sent.env), env: sent.env, name, ...mailContent(sent.mail) })

/** A row of `ipms outbox --json`'s `outbox` (`gaveUp`: no longer tried, when and why). */
export function outboxRow (entry: OutboxEntry, names: Names, subjects: ReadonlyMap<string, string> = new Map()): { id: string, to: string, name?: string, subject?: string, created: number, attempts: number, receipts: number, replicas: number, nextAttempt: number, lastError?: string, gaveUp?: { time: number, reason: string } } {
  const to = destinationOfEntry(entry).owner
  return { id: entry.id, to, name: names.get(to), subject: subjects.get(entry.id), created: entry.created, attempts: entry.attempts, receipts: entry.receipts.length, replicas: entry.replicas, nextAttempt: entry.nextAttempt, lastError: entry.lastError, ...(entry.gaveUp === undefined ? {} : { gaveUp: entry.gaveUp }) }
}

/** Envelope CID → subject, of the mail kept as sent (the outbox holds only the sealed envelope). */
export const sentSubjects = (sent: readonly SentMail[]): Map<string, string> => new Map(sent.map(s => [s.env, s.mail.subject]))

/**
 * `ipms outbox retry --json`: what was delivered; tried and not delivered (`failed`, given up by
 * this retry included); given up by this retry (`gaveUp`, with why); left to another process that
 * was trying it (`busy`); and what still waits to be retried (`waiting`, given-up mail apart).
 */
export const retrySummary = (report: RetryReport, left: OutboxEntry[]): { delivered: string[], failed: string[], gaveUp: Array<{ id: string, reason: string }>, busy: string[], waiting: Array<{ id: string, lastError?: string }> } => ({
  delivered: report.delivered.map(e => e.id),
  failed: [...report.waiting, ...report.gaveUp].map(e => e.id),
  gaveUp: report.gaveUp.map(e => ({ id: e.id, reason: e.gaveUp?.reason ?? '' })),
  busy: report.busy,
  waiting: left.filter(e => e.gaveUp === undefined).map(e => ({ id: e.id, lastError: e.lastError }))
})

/** `ipms sync --json`: the mail received and quarantined, what waits, the replicas' outcomes, the outbox mail delivered. */
export function syncSummary (result: ReadInboxResult, names: Names, outboxDelivered: OutboxEntry[]): {
  received: Array<{ id: string, entry: string, from: string, name?: string, date: number, subject: string }>
  quarantined: Array<{ id: string, entry: string, code: string, reason: string }>
  waiting: number
  pruned: number
  replicas: ReadInboxResult['replicas']
  outboxDelivered: string[]
} {
  return {
    received: result.received.map(r => ({ id: shortId(r.entry), entry: r.entry, from: r.mail.from, name: names.get(r.mail.from), date: r.mail.date, subject: r.mail.subject })),
    quarantined: result.quarantined.map(q => ({ id: shortId(q.entry), entry: q.entry, code: q.code, reason: q.reason })),
    waiting: result.waiting,
    pruned: result.pruned,
    replicas: result.replicas,
    outboxDelivered: outboxDelivered.map(e => e.id)
  }
}

/** `ipms send --json`: to whom, how it was found, the mail's id and inbox, and its receipts or why none. */
export function sendSummary (recipient: ResolvedRecipient, sent: { entry: OutboxEntry, delivered: boolean, failures: DeliveryFailure[] }): Record<string, unknown> & { delivered: boolean } {
  const { entry } = sent
  return { to: recipient.peer, name: recipient.name, via: recipient.via, id: entry.id, inbox: entry.inbox, delivered: sent.delivered, receipts: entry.receipts.map(r => ({ host: r.host, time: r.time, entry: r.entry })), failures: sent.failures }
}

/**
 * The error of a send that got fewer receipts than wanted: NoHostError (exit 69) when a host was
 * unreachable or none was left to try, DeliveryRefusedError (exit 76) when hosts refused it.
 */
export function notDeliveredError (sent: { entry: OutboxEntry, failures: DeliveryFailure[] }, summary: Record<string, unknown>): IpmsError {
  const { entry, failures } = sent
  const why = failures.map(f => `${shortPeer(f.host)}: ${f.message}`).join('; ') || 'no host left to try'
  const unreachable = failures.length === 0 || failures.some(f => f.code === 'ERR_DELIVERY' || f.code === 'ERR_TIMEOUT')
  const message = entry.gaveUp === undefined
    ? `Not delivered yet (${entry.receipts.length} of ${count(entry.replicas, 'receipt')}): ${why}. The mail waits in the outbox (${entry.id}); ipms outbox retry, or a running daemon, tries again`
    : `Not delivered (${entry.receipts.length} of ${count(entry.replicas, 'receipt')}): ${why}. Given up (${entry.gaveUp.reason}): it stays listed by ipms outbox (${entry.id}); ipms outbox retry ${entry.id.slice(-8)} tries it again, ipms outbox rm ${entry.id.slice(-8)} removes it`
  return unreachable ? new NoHostError(message, summary) : new DeliveryRefusedError('ERR_REFUSED', message)
}

/** `ipms hosts grant --json`: the grant, the new card, and the command the host's operator runs. */
export function grantSummary (host: GrantedHost, card: string): { host: string, addrs: string[], grant: string, card: string, expires?: number, accept: string } {
  return { host: host.peer, addrs: host.addrs, grant: host.grant, card, ...(host.expires === undefined ? {} : { expires: host.expires }), accept: `ipms host accept ${host.grant} --card ${card}` }
}
