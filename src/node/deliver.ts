/**
 * `/ipms/deliver/1.0.0`: a sender hands one sealed, stamped mail to a node that keeps the
 * recipient's inbox, and gets a signed receipt back (docs/PROTOCOL.md §12).
 *
 *   sender → host   { v: 1, t: "deliver", inbox, mail: MAIL payload, envelope: bytes, pass?: bytes }
 *   host → sender   { v: 1, t: "receipt", receipt: { v, inbox, entry, env, host, time, sig } }
 *                or { v: 1, t: "refused", code, reason }
 *
 * The host checks exactly what the inbox's rules check (§9.3), plus that the envelope bytes hash
 * to the payload's CID and decode as an envelope, and its policy (rate per connection, clock skew,
 * quota per inbox, or a contact's pass's share: pass-quota.ts), then stores the envelope, appends
 * the entry (together with the deliveries into the same inbox that arrive meanwhile:
 * stores/orbitdb/log-writer.ts) and signs the receipt only once both are on its disk (synced, §12.1); a
 * full disk is refused as ERR_STORAGE_FULL. Senders need no OrbitDB of their own.
 *
 * Watch for: the request is length-prefixed and capped (one envelope plus a little) before it is
 * decoded; every refusal is a typed code the sender can act on.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { peerIdFromString } from '@libp2p/peer-id'
import { logger } from '@libp2p/logger'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { FORMAT_VERSION, MAX_ENVELOPE_BYTES, TAG_RECEIPT } from '../constants.ts'
import { decodeCbor, encodeCbor, refuseBadHead, taggedBytes, type CborLimits } from '../crypto/codec.ts'
import { hasExactly, isBytes, isPlainMap, isTime } from '../util/fields.ts'
import { decodeEnvelope } from '../crypto/envelope.ts'
import { signEd25519, verifyEd25519 } from '../crypto/keys.ts'
import { DeliveryError, DeliveryRefusedError, EnvelopeSizeError, IpmsError, StorageFullError, TooLargeError, type ErrorCode, type Problem } from '../errors.ts'
import type { Identity } from '../identity/identity.ts'
import { parsePeerId } from '../identity/peer-id.ts'
import { mailPayloadShapeProblem, mailStampProblem, type MailPayload } from '../access/payloads.ts'
import type { Inbox } from '../stores/inbox.ts'
import type { InboxLease, InboxResolver } from './inbox-lease.ts'
import { envelopeBlock, type EnvelopeBlock } from '../stores/envelope-block.ts'
import { penalize } from './connection-guard.ts'
import { frames, type Frames } from './frames.ts'
import { createFrameBudget, createRateLimiter, DEFAULT_HOST_POLICY, type HostPolicy } from './host-policy.ts'
import { openPassQuota, requestPass, type Admission, type PassQuota } from './pass-quota.ts'

export const DELIVER_PROTOCOL = '/ipms/deliver/1.0.0'
/** Largest deliver request: one maximum envelope and its framing. */
export const MAX_DELIVER_FRAME_BYTES = MAX_ENVELOPE_BYTES + 16 * 1024
/**
 * Bounds on a deliver request's structure: { v, t, inbox, mail: { 6 fields }, envelope } is 23
 * items at depth 2; anything bigger is refused from its headers, before it is decoded.
 */
export const DELIVER_REQUEST_LIMITS: Readonly<CborLimits> = Object.freeze({ maxItems: 32, maxDepth: 2 })
/** Bounds on a host's answer (a receipt of 7 fields inside { v, t, receipt }, or a refusal). */
const DELIVER_ANSWER_LIMITS: Readonly<CborLimits> = Object.freeze({ maxItems: 24, maxDepth: 2 })
/** Bytes of a request looked at before the rest is read (all of it but the envelope's content). */
const FRAME_HEAD_BYTES = 1024
/** How long an address over its delivery rate may not reconnect, ms (at most the rate window). */
const PENALTY_MS = 10_000
/** Default deadline of one delivery, ms. */
export const DEFAULT_DELIVER_TIMEOUT_MS = 30_000

const log = logger('ipms:deliver')

/** The fields of a receipt (§12), sorted. */
const RECEIPT_FIELDS = ['entry', 'env', 'host', 'inbox', 'sig', 'time', 'v']
/** The fields of a deliver request (§12), sorted; `pass` is optional. */
const DELIVER_FIELDS = ['envelope', 'inbox', 'mail', 't', 'v']
const DELIVER_FIELDS_WITH_PASS = ['envelope', 'inbox', 'mail', 'pass', 't', 'v']
const NOT_HOSTED = 'this node does not keep that inbox, or the stamp does not reach its difficulty'

/**
 * The codes a host refuses a delivery with (§12). A sender reads any other code from a host as
 * ERR_REFUSED: a peer's word never picks a code the sender would act on otherwise (an exit code
 * that says "no identity", "interrupted" …).
 */
export const DELIVER_REFUSAL_CODES = [
  'ERR_RATE_LIMITED', 'ERR_TOO_LARGE', 'ERR_MALFORMED', 'ERR_NOT_HOSTED', 'ERR_BAD_ENVELOPE', 'ERR_STALE',
  'ERR_OVER_QUOTA', 'ERR_BAD_PASS', 'ERR_PASS_EXPIRED', 'ERR_STORAGE_FULL', 'ERR_GRANT_EXPIRED'
] as const satisfies readonly ErrorCode[]

/** A code a host refuses a delivery with. */
export type DeliverRefusalCode = typeof DELIVER_REFUSAL_CODES[number]

const REFUSAL_CODES: ReadonlySet<unknown> = new Set(DELIVER_REFUSAL_CODES)

/** A host's refusal code as the sender takes it: one of DELIVER_REFUSAL_CODES, else ERR_REFUSED. Never throws. */
export const refusalCode = (code: unknown): DeliverRefusalCode | 'ERR_REFUSED' =>
  REFUSAL_CODES.has(code) ? code as DeliverRefusalCode : 'ERR_REFUSED'

/** A host's signed statement that it stored a mail. */
export interface Receipt {
  v: 1
  /** The inbox address. */
  inbox: string
  /** Hash of the MAIL entry the host appended. */
  entry: string
  /** Envelope CID. */
  env: string
  /** The host's peer-id; its key signs the receipt. */
  host: string
  /** When the host stored it, ms since the epoch. */
  time: number
  sig: Uint8Array
}

/** The bytes a host signs for a receipt (§12); exported for the conformance vectors. */
export const receiptSigningInput = (receipt: Omit<Receipt, 'sig'>): Uint8Array =>
  taggedBytes(TAG_RECEIPT, encodeCbor({ v: receipt.v, inbox: receipt.inbox, entry: receipt.entry, env: receipt.env, host: receipt.host, time: receipt.time }))

/** Check a receipt: signed by the host it names, for this inbox and envelope. Returns it, or throws. */
export function verifyReceipt (value: unknown, expected: { inbox: string, env: string, host?: string }): Receipt {
  // Exactly the signed fields and the signature: an extra field would travel unsigned (§1).
  if (!isPlainMap(value) || !hasExactly(value, RECEIPT_FIELDS)) {
    throw new DeliveryRefusedError('ERR_BAD_RECEIPT', 'The host answered with a malformed receipt: the mail may not be stored; it stays in the outbox')
  }
  const r = value as Partial<Receipt>
  if (r.v !== FORMAT_VERSION || typeof r.inbox !== 'string' || typeof r.entry !== 'string' ||
    typeof r.env !== 'string' || typeof r.host !== 'string' || !isTime(r.time) || !(isBytes(r.sig))) {
    throw new DeliveryRefusedError('ERR_BAD_RECEIPT', 'The host answered with a malformed receipt: the mail may not be stored; it stays in the outbox')
  }
  if (r.inbox !== expected.inbox || r.env !== expected.env || (expected.host !== undefined && r.host !== expected.host)) {
    throw new DeliveryRefusedError('ERR_BAD_RECEIPT', 'The host\'s receipt is for another mail, inbox or host: the mail may not be stored; it stays in the outbox')
  }
  let hostKey: Uint8Array
  try {
    hostKey = parsePeerId(r.host).publicKey
  } catch (err) {
    throw new DeliveryRefusedError('ERR_BAD_RECEIPT', 'The receipt names a host that is not an IPMS address', { cause: err })
  }
  if (!verifyEd25519(hostKey, receiptSigningInput(r as Receipt), r.sig)) {
    throw new DeliveryRefusedError('ERR_BAD_RECEIPT', `The receipt is not signed by ${r.host}: the mail may not be stored; it stays in the outbox`)
  }
  return r as Receipt
}

/**
 * A host's answer to a delivery (§12), as the sender takes it: the verified receipt for `expected`,
 * or DeliveryRefusedError with the host's refusal code as `refusalCode` reads it (and the host's
 * time for ERR_STALE, the grant's end for ERR_GRANT_EXPIRED). Bytes that are not a bounded, canonical answer are no receipt
 * (ERR_BAD_RECEIPT): never a refusal code the sender would act on as the host's word.
 */
export function deliverAnswer (bytes: Uint8Array, expected: { inbox: string, env: string, host: string }): Receipt {
  const { host } = expected
  let answer: { v?: number, t?: string, code?: unknown, reason?: unknown, time?: unknown, expired?: unknown, receipt?: unknown }
  try {
    answer = decodeCbor(bytes, MAX_DELIVER_FRAME_BYTES, 'host\'s answer', DELIVER_ANSWER_LIMITS) as typeof answer
  } catch (err) {
    throw new DeliveryRefusedError('ERR_BAD_RECEIPT', `${host} answered with bytes that are not an answer (${(err as Error).message}): the mail stays in the outbox`, { cause: err })
  }
  if (answer?.t === 'refused') {
    // A stale refusal may say the host's time (§12): kept only if it is a plausible ms timestamp.
    const hostTime = answer.code === 'ERR_STALE' && Number.isSafeInteger(answer.time) && (answer.time as number) >= 0 ? answer.time as number : undefined
    // So may an expired grant's refusal say when it expired.
    const expired = answer.code === 'ERR_GRANT_EXPIRED' && Number.isSafeInteger(answer.expired) && (answer.expired as number) >= 0 ? answer.expired as number : undefined
    throw new DeliveryRefusedError(refusalCode(answer.code), `${host} refused the mail: ${typeof answer.reason === 'string' ? answer.reason : 'no reason given'}`, { hostTime, expired })
  }
  if (answer?.t !== 'receipt') throw new DeliveryRefusedError('ERR_BAD_RECEIPT', `${host} answered without a receipt: the mail stays in the outbox`)
  return verifyReceipt(answer.receipt, expected)
}

export interface DeliveryServiceOptions {
  libp2p: Libp2p
  /** The host's identity: its key signs receipts (the libp2p peer-id of `libp2p`). */
  identity: Identity
  /**
   * The inbox served here for an address, if any (and only if this node may keep it); opened
   * (leased) only for a request whose stamp is valid for it.
   */
  inboxFor: InboxResolver
  /** Deadline of one delivery, ms. Default 30 000. */
  timeoutMs?: number
  /** Retention, quota, rate and clock-skew policy (defaults: DEFAULT_HOST_POLICY). */
  policy?: Partial<HostPolicy>
  /** The host's clock, ms (tests move it). Default Date.now. */
  now?: () => number
  /** Where the accounting of contacts' passes is kept (a LevelDB directory); default: in memory, lost on restart. */
  passLedgerPath?: string
  /**
   * An inbox this node kept under a grant that has expired (its owner, difficulty, and when it
   * expired), so that a sender whose stamp is valid for it learns so (ERR_GRANT_EXPIRED). Default: none.
   */
  expiredGrant?: (address: string) => { owner: string, bits: number, expires: number } | undefined
}

/** The host side: accept deliveries into the inboxes `inboxFor` gives. */
export function createDeliveryService (options: DeliveryServiceOptions) {
  const { libp2p, identity, inboxFor } = options
  const timeoutMs = options.timeoutMs ?? DEFAULT_DELIVER_TIMEOUT_MS
  const policy: HostPolicy = { ...DEFAULT_HOST_POLICY, ...options.policy }
  const now = options.now ?? Date.now
  const rate = createRateLimiter(policy, now)
  const buffers = createFrameBudget()
  const onClose = (event: CustomEvent<Connection>): void => { rate.forget(event.detail.id) }
  let quota: PassQuota | undefined

  const refuse = async (lp: Frames, code: DeliverRefusalCode, reason: string, signal: AbortSignal, expired?: number): Promise<void> => {
    await lp.write(dagCbor.encode({ v: FORMAT_VERSION, t: 'refused', code, reason, ...(code === 'ERR_STALE' ? { time: now() } : {}), ...(code === 'ERR_GRANT_EXPIRED' && expired !== undefined ? { expired } : {}) }), { signal })
  }

  /** Check a request; returns the inbox (leased through `hold`, which the caller releases), payload and envelope, or the refusal. */
  const check = async (request: unknown, hold: (lease: InboxLease) => void, signal: AbortSignal): Promise<{ inbox: Inbox, mail: MailPayload, envelope: EnvelopeBlock, admission: Admission } | (Problem<DeliverRefusalCode> & { expired?: number })> => {
    if (!isPlainMap(request) || !(hasExactly(request, DELIVER_FIELDS) || hasExactly(request, DELIVER_FIELDS_WITH_PASS))) {
      return { code: 'ERR_MALFORMED', message: 'a v1 deliver request has exactly the fields v, t, inbox, mail, envelope, and optionally pass' }
    }
    const r = request
    if (r.v !== FORMAT_VERSION || r.t !== 'deliver' || typeof r.inbox !== 'string') return { code: 'ERR_MALFORMED', message: 'not a v1 deliver request' }
    if (!(isBytes(r.envelope))) return { code: 'ERR_MALFORMED', message: 'envelope must be bytes' }
    // The payload's shape does not depend on the inbox, so it is checked before the inbox is
    // looked up: a garbage request gets the same answer everywhere.
    const problem = mailPayloadShapeProblem(r.mail)
    if (problem !== undefined) return { code: problem.code, message: `the MAIL payload is refused: ${problem.message}` }
    // Until the request shows a valid stamp for a kept inbox, the answer is the one for an inbox
    // not kept here (PROTOCOL §12): otherwise anyone could list the inboxes a host keeps.
    const target = inboxFor(r.inbox)
    const lapsed = target === undefined ? options.expiredGrant?.(r.inbox) : undefined
    if (lapsed !== undefined && mailStampProblem(r.mail as MailPayload, r.inbox, lapsed.bits) === undefined) {
      return { code: 'ERR_GRANT_EXPIRED', message: `this node's grant for the inbox of ${lapsed.owner} expired on ${new Date(lapsed.expires).toISOString()}`, expired: lapsed.expires }
    }
    if (target === undefined || mailStampProblem(r.mail as MailPayload, target.address, target.bits) !== undefined) return { code: 'ERR_NOT_HOSTED', message: NOT_HOSTED }
    const mail = r.mail as MailPayload
    if (r.envelope.byteLength !== mail.size) return { code: 'ERR_BAD_ENVELOPE', message: 'the envelope size is not the size the payload states' }
    if (Math.abs(mail.ts - now()) > policy.maxClockSkewMs) return { code: 'ERR_STALE', message: `the mail's time is more than ${Math.round(policy.maxClockSkewMs / 60_000)} minutes from this host's clock: stamp it again` }
    // Hashed once here; the inbox stores this block without hashing it again.
    const envelope = await envelopeBlock(mail.env, r.envelope)
    if (envelope === undefined) return { code: 'ERR_BAD_ENVELOPE', message: 'the envelope bytes do not hash to the payload\'s CID' }
    try {
      decodeEnvelope(r.envelope)
    } catch (err) {
      return { code: 'ERR_BAD_ENVELOPE', message: `the envelope is not a v1 envelope: ${(err as Error).message}` }
    }
    const pass = requestPass(r.pass, target.owner, now())
    if (typeof pass === 'object') return pass
    if (quota === undefined) return { code: 'ERR_NOT_HOSTED', message: 'this node is not serving deliveries' }
    // Only now, with every check that needs no inbox passed, is the inbox opened (a host keeps most closed).
    const lease = await target.lease({ signal })
    hold(lease)
    const inbox = lease.inbox
    // A replay stores nothing and its sender is owed the receipt it already got: never over quota.
    if (await inbox.firstEntry(mail.env) !== undefined) return { inbox, mail, envelope, admission: { share: 'strangers', write: async append => await append() } }
    await quota.ready(inbox)
    // Deliveries still being written count too (the quota keeps them), or concurrent ones would
    // all pass. From here to the reservation there is no await: deciding and reserving are one step.
    const admission = quota.admit(inbox, { env: mail.env, size: mail.size, held: await inbox.pendingBytes(), pass })
    if ('code' in admission) return admission
    return { inbox, mail, envelope, admission }
  }

  /**
   * Answer `refused` before the request is read, and end the stream: what already came is dropped
   * unread. With `reset` (the request's prefix was read, so the stream is fully set up), the stream
   * is reset once the answer is out, so that the rest of a 4 MiB request does not keep crossing
   * the network for nothing (the sender reads the answer while it writes).
   */
  const refuseAndClose = async (stream: Stream, lp: Frames, code: DeliverRefusalCode, reason: string, signal: AbortSignal, reset = false): Promise<void> => {
    await stream.closeRead()
    await refuse(lp, code, reason, signal)
    await stream.close({ signal })
    if (reset) stream.abort(new DeliveryRefusedError(code, 'refused before the request was read'))
  }

  const handle = async (stream: Stream, connection: Connection): Promise<void> => {
    const signal = AbortSignal.timeout(timeoutMs)
    // Every sender is a stranger (a fresh identity per mail): the request's length is reserved in
    // the budget of unauthenticated bytes before its body is read, and given back with the stream.
    const lp = frames(stream, MAX_DELIVER_FRAME_BYTES, {
      // A decode bomb shows in its first bytes (millions of items announced): refused unread.
      inspect: { bytes: FRAME_HEAD_BYTES, check: head => { refuseBadHead(head, DELIVER_REQUEST_LIMITS, 'deliver request') } },
      admit: length => {
        const release = buffers.reserve(connection.remoteAddr, length)
        if (release === undefined) throw new DeliveryRefusedError('ERR_RATE_LIMITED', 'too many bytes of deliveries from your address are in flight here: try again shortly')
        stream.addEventListener('close', release, { once: true })
      }
    })
    let lease: InboxLease | undefined
    try {
      // The rate first, before a byte of the request is read: a refusal costs almost nothing.
      const over = rate.take(connection)
      if (over !== undefined) {
        await refuseAndClose(stream, lp, 'ERR_RATE_LIMITED', `more than ${rate.limits[over]} deliveries in ${policy.rateWindowMs / 1000} s from one ${over === 'prefix' ? 'network (/24 or /48)' : over}: wait and try again`, signal)
        // Past its address's limit, a stranger's further streams would each still cost a stream
        // set-up here: its connection goes, and its address may not reconnect for a while.
        if (over !== 'connection') penalize(libp2p, connection, Math.min(policy.rateWindowMs, PENALTY_MS))
        return
      }
      let request: unknown
      try {
        request = decodeCbor((await lp.read({ signal })).subarray(), MAX_DELIVER_FRAME_BYTES, 'deliver request', DELIVER_REQUEST_LIMITS)
        // One frame per stream: anything after it is not read.
        await stream.closeRead()
      } catch (err) {
        if (err instanceof IpmsError) {
          await refuseAndClose(stream, lp, err.code === 'ERR_TOO_LARGE' || err.code === 'ERR_RATE_LIMITED' ? err.code : 'ERR_MALFORMED', err.message, signal, true)
          return
        }
        throw err
      }
      const checked = await check(request, held => { lease = held }, signal)
      if ('code' in checked) {
        await refuse(lp, checked.code, checked.message, signal, checked.expired)
        await stream.close({ signal })
        return
      }
      const { inbox, mail, envelope, admission } = checked
      // The envelope and the entry are on disk now (receive resolved after synced writes, §12.1):
      // they survive the process being killed and a power cut from here on, so the receipt can be
      // signed. Its time is when the entry was first seen here: a replay gets the very receipt the
      // first delivery got.
      let stored: { entry: string, seen: number }
      try {
        stored = await admission.write(async () => await inbox.receive(mail, envelope))
      } catch (err) {
        // The inbox holds this envelope's mail under an entry stating another size: nothing is stored.
        if (err instanceof EnvelopeSizeError) {
          await refuse(lp, 'ERR_BAD_ENVELOPE', err.message, signal)
          await stream.close({ signal })
          return
        }
        // A full disk is an answer the sender can act on (try another host, or later), not a broken stream.
        if (!(err instanceof StorageFullError)) throw err
        log.error('refused %s for %s: the disk is full', mail.env, inbox.address)
        await refuse(lp, 'ERR_STORAGE_FULL', 'this host\'s disk is full: it stores nothing until space is freed; try another host, or later', signal)
        await stream.close({ signal })
        return
      }
      const { entry, seen: time } = stored
      const unsigned = { v: FORMAT_VERSION, inbox: inbox.address, entry, env: mail.env, host: identity.peerId, time } as const
      const receipt: Receipt = { ...unsigned, sig: signEd25519(identity.seed, receiptSigningInput(unsigned)) }
      await lp.write(dagCbor.encode({ v: FORMAT_VERSION, t: 'receipt', receipt }), { signal })
      await stream.close({ signal })
      log('stored %s in %s for a sender at %s', mail.env, inbox.address, connection.remotePeer.toString())
    } catch (err) {
      log.error('delivery from %s failed: %s', connection.remotePeer.toString(), (err as Error).message)
      stream.abort(err as Error)
    } finally {
      lease?.release()
    }
  }

  return {
    start: async (): Promise<void> => {
      quota ??= await openPassQuota(policy, options.passLedgerPath)
      libp2p.addEventListener('connection:close', onClose)
      // Each stream is a stranger's: 32 at once per connection (libp2p's default is 256) bound its cost.
      await libp2p.handle(DELIVER_PROTOCOL, handle, { maxInboundStreams: 32 })
    },
    stop: async (): Promise<void> => {
      libp2p.removeEventListener('connection:close', onClose)
      await libp2p.unhandle(DELIVER_PROTOCOL)
      await quota?.close()
      quota = undefined
    },
    /** Bytes held here under one pass (hex id) of an inbox. */
    passUsed: (inbox: string, pass: string): number => quota?.used(inbox, pass) ?? 0,
    /** Connections with a rate window (bounded by the open connections). */
    trackedConnections: (): number => rate.size()
  }
}

/**
 * The sender side: deliver one stamped mail to `host` (a peer-id already dialled on `libp2p`) and
 * return its verified receipt. DeliveryRefusedError carries the host's refusal code (`refusalCode`).
 */
export async function deliverTo (libp2p: Libp2p, host: string, request: { inbox: string, mail: MailPayload, envelope: Uint8Array, pass?: Uint8Array }, options: { signal?: AbortSignal, timeoutMs?: number } = {}): Promise<Receipt> {
  const signal = AbortSignal.any([AbortSignal.timeout(options.timeoutMs ?? DEFAULT_DELIVER_TIMEOUT_MS), ...(options.signal === undefined ? [] : [options.signal])])
  let stream: Stream
  try {
    stream = await libp2p.dialProtocol(peerIdFromString(host), DELIVER_PROTOCOL, { signal })
  } catch (err) {
    throw new DeliveryError(`Cannot reach ${host} for delivery: ${(err as Error).message}`, { cause: err })
  }
  const lp = frames(stream, MAX_DELIVER_FRAME_BYTES)
  try {
    // The answer is read while the request is written: a host may refuse a request before reading
    // it all (over its rate, too large), and then stops taking its bytes.
    let written = false
    // A write that fails shows as a failed read.
    const writing = lp.write(dagCbor.encode({ v: FORMAT_VERSION, t: 'deliver', inbox: request.inbox, mail: request.mail, envelope: request.envelope, ...(request.pass === undefined ? {} : { pass: request.pass }) }), { signal })
      .then(() => { written = true }, () => {})
    let outcome: Receipt | IpmsError
    try {
      const bytes = await lp.read({ signal }).catch((err: unknown) => {
        // An answer over the frame cap is no receipt either; a broken stream stays a broken stream.
        throw err instanceof TooLargeError ? new DeliveryRefusedError('ERR_BAD_RECEIPT', `${host} answered with more bytes than any answer has: the mail stays in the outbox`, { cause: err }) : err
      })
      outcome = deliverAnswer(bytes.subarray(), { inbox: request.inbox, env: request.mail.env, host })
    } catch (err) {
      if (!(err instanceof IpmsError)) throw err
      outcome = err
    }
    // A host answers with a receipt only once it has read the whole request: the write ends too.
    if (!(outcome instanceof Error)) await writing
    if (written) await stream.close({ signal })
    else stream.abort(new Error('the host answered before taking the whole request'))
    if (outcome instanceof Error) throw outcome
    return outcome
  } catch (err) {
    stream.abort(err as Error)
    if (err instanceof IpmsError) throw err
    throw new DeliveryError(`Delivering to ${host} failed: ${(err as Error).message}. The mail stays in the outbox`, { cause: err })
  }
}
