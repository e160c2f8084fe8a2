/**
 * The IPMS library API: everything the CLI does, a program can do through this module.
 *
 * ```ts
 * import { createIdentity, sealMail, openMail } from 'ipms'
 *
 * const alice = await createIdentity()
 * const bob = await createIdentity()
 * const inbox = '/orbitdb/…' // bob's inbox address
 * const { envelope } = await sealMail({ subject: 'Hi', body: 'Hello Bob' }, { from: alice, to: bob.peerId, inbox })
 * const mail = openMail(envelope, { identity: bob, inbox }) // mail.from is proven to be alice
 * ```
 */
export * from './errors.ts'
export * as constants from './constants.ts'
export * from './identity/index.ts'
export { sealMail, openMail, envelopeCid, type Draft, type SealOptions, type OpenOptions, type SealedMail } from './mail/seal.ts'
export type { Mail, UnsignedMail, Attachment } from './mail/mail.ts'
export { powChallenge, verifyPow, solvePow, closePowPool, type PowProgress, type SolvePowOptions } from './crypto/pow/index.ts'
export { inboxAddress, inboxParams, type InboxParams } from './access/inbox-address.ts'
export { signPrune, mailPayloadProblem, prunePayloadProblem, type MailPayload, type PrunePayload } from './access/payloads.ts'
export type { Inbox, InboxEntry, PendingMail } from './stores/inbox.ts'
export { InboxAccessController, Mailbox, openInbox } from './stores/orbitdb/index.ts'
export { createNode, type CreateNodeOptions, type IpmsNode } from './node/create-node.ts'
export { createInboxSync, SYNC_PROTOCOL, type InboxSync, type SyncResult, type SyncAuthorizer } from './node/sync.ts'
export { readInbox, type ReadInboxOptions, type ReadInboxResult } from './node/read-inbox.ts'
export { openMailStore, type MailStore, type StoredMail, type QuarantinedMail, type ListedMail, type SentMail } from './mail/mail-store.ts'
export { createGrant, encodeGrant, verifyGrant, type Grant, type GrantOptions } from './hosting/grant.ts'
export { createPass, encodePass, passBytes, passIdText, verifyPass, type Pass } from './hosting/pass.ts'
export { createCard, encodeCard, verifyCard, type AddressCard, type CardHost } from './hosting/card.ts'
export { createDeliveryService, deliverTo, verifyReceipt, DELIVER_PROTOCOL, DELIVER_REFUSAL_CODES, refusalCode, type DeliverRefusalCode, type Receipt, type DeliveryServiceOptions } from './node/deliver.ts'
export { withFreshSender } from './node/sender.ts'
export { sendMail, type SendMailOptions, type SendResult } from './node/send-mail.ts'
export { openHosting, type HostedGrant, type HostedInboxReport, type Hosting, type HostingOptions } from './node/hosting.ts'
export { dropHostedInbox, type DroppedHostedInbox } from './node/drop-hosted.ts'
export { openOutbox, retryPeriodically, type Outbox, type OutboxEntry } from './node/outbox.ts'
export { prepareMail, deliverPrepared, type PreparedMail } from './node/send-mail.ts'
export { DEFAULT_HOST_POLICY, type HostPolicy } from './node/host-policy.ts'
export { openPassQuota, quotaDecision, type PassQuota } from './node/pass-quota.ts'
export { startDaemon, DEFAULT_SCHEDULE, type Daemon, type DaemonOptions, type DaemonId, type DaemonSchedule, type DaemonSendOptions, type DaemonSyncResult } from './daemon/daemon.ts'
export { createEventLog, DEFAULT_EVENTS_KEPT, type DaemonEvent, type DaemonEventData, type DaemonEventType, type DaemonEvents, type EventLog, type EventsReset, type SubscribeOptions } from './daemon/events.ts'
export { createMailHook, hookSubject, DEFAULT_HOOK_TIMEOUT_MS, type MailHook, type MailHookOptions, type HookedMail } from './daemon/mail-hook.ts'
export { findMail, shortId } from './mail/find-mail.ts'
export { resolveRecipient, type ResolvedRecipient, type ResolveRecipientOptions, type RecipientVia } from './node/resolve-recipient.ts'
export { mailRow, mailDetail, outboxRow, retrySummary, syncSummary, sendSummary, grantSummary, sentRow, notDeliveredError } from './daemon/views.ts'
export { startApiServer, API_PREFIX, type ApiServer, type ApiServerOptions } from './api/server.ts'
export { API_FILE_NAME, API_COOKIE_FILE_NAME, API_SOCKET_FILE_NAME, type ApiInfo } from './api/api-files.ts'
export { connectDaemon, answerError, type DaemonClient, type ApiEvent, type ApiProgress, type RequestOptions } from './api/client.ts'
export { startHomeNode, type HomeNode, type HomeNodeOptions } from './node/home-node.ts'
