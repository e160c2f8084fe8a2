/**
 * The send `ipms send` (send.ts) does in its own process when no daemon answers: the recipient
 * resolved here, the mail sealed, stamped and delivered through the home's outbox. Imported only
 * then: a send handed to the daemon does not load the outbox, the DHT lookup or the node.
 */
import { notDeliveredError, sendSummary } from '../../daemon/views.ts'
import type { Draft } from '../../mail/seal.ts'
import { withOwnCard } from '../../home/owner-hosts.ts'
import { openMailStore } from '../../mail/mail-store.ts'
import { replyTarget } from '../../mail/reply-target.ts'
import { openOutbox } from '../../node/outbox.ts'
import { outboxSettings, type ResolvedRecipient } from '../../node/resolve-recipient.ts'
import { shortPeer } from '../command.ts'
import type { CliContext } from '../context.ts'
import { powLine, type SendSettings, type SendSummary } from './send.ts'

export { resolveRecipient } from '../../node/resolve-recipient.ts'
export { wantedReceipts } from '../../node/send-mail.ts'

/** `--in-reply-to` resolved against this home's mail (mail/reply-target.ts). */
export async function replyTargetHere (home: string, text: string): Promise<string> {
  return await replyTarget(openMailStore(home, { maildir: false }), text)
}

/** Seal, stamp and deliver in this process, through the home's outbox. */
export async function sendHere (draft: Draft, recipient: ResolvedRecipient, settings: SendSettings, context: CliContext): Promise<SendSummary> {
  const { out, signal } = context
  const { destination } = recipient
  const identity = await context.identity()
  out.info(`Sealing and stamping a mail for ${settings.name} (difficulty ${destination.bits} bits)…`)
  const sealed = settings.ownCard ? await withOwnCard(draft, await context.ownerHosts()) : draft
  const sent = await openOutbox(context.home, outboxSettings(context.home, await context.config())).send(sealed, {
    from: identity,
    card: destination,
    replicas: settings.replicas,
    timeoutMs: settings.timeoutMs,
    signal,
    onProgress: p => { out.progress(powLine(destination.bits, p.attempts, p.elapsedMs)) },
    onHost: host => { out.progress(`Delivering to ${shortPeer(host)}…`) }
  })
  const summary = sendSummary(recipient, sent)
  if (!sent.delivered) throw notDeliveredError(sent, summary)
  return summary as SendSummary
}

