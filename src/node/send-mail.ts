/**
 * Sending a mail to an owner by their address card (docs/PROTOCOL.md §12): seal, stamp, then
 * deliver to the card's hosts in turn from a fresh identity, until `replicas` hosts have signed a
 * receipt. The library call behind `ipms send`.
 */
import { inboxAddress } from '../access/inbox-address.ts'
import type { MailPayload } from '../access/payloads.ts'
import { powChallenge, requiredPowBits, solvePow, type PowProgress } from '../crypto/pow/index.ts'
import type { CID } from 'multiformats/cid'
import { CLOCK_AGREEMENT_MS } from '../constants.ts'
import { DeliveryRefusedError, InvalidArgumentError, IpmsError, NoHostError, type ErrorCode } from '../errors.ts'
import { verifyCard, type AddressCard, type CardHost } from '../hosting/card.ts'
import type { Identity } from '../identity/identity.ts'
import { sealMail, type Draft, type SealedMail } from '../mail/seal.ts'
import { DEFAULT_DELIVER_TIMEOUT_MS, deliverTo, type Receipt } from './deliver.ts'
import { dialCardHost } from './dial-host.ts'
import { withFreshSender } from './sender.ts'
import { count } from '../util/count.ts'

/**
 * Where a mail is delivered: the hosts of the owner's card, or the owner's own node when no card is
 * known (found on the DHT, docs/PROTOCOL.md §14; its inbox at the default difficulty).
 */
export interface Destination {
  owner: string
  /** The inbox difficulty. */
  bits: number
  /** Nodes that take deliveries for the inbox, tried in order. */
  hosts: CardHost[]
  /** The owner's card, when the hosts come from one. */
  card?: AddressCard
  /** A pass the owner gave the sender (its dag-cbor, `passBytes`), shown to hosts with each delivery (§11.3). */
  pass?: Uint8Array
}

const isDestination = (value: string | AddressCard | Destination): value is Destination =>
  typeof value === 'object' && 'hosts' in value && !('sig' in value)

/** A card (checked) or a destination as it is. */
export const destinationOf = (value: string | AddressCard | Destination): Destination => isDestination(value) ? value : cardDestination(value)

/** The destination a card names. */
export function cardDestination (input: string | AddressCard): Destination {
  const card = verifyCard(input)
  return { owner: card.owner, bits: card.bits, hosts: card.hosts, card }
}

export interface SendMailOptions {
  from: Identity
  /** The recipient's address card (text or checked), naming their hosts and difficulty; or a destination found otherwise. */
  card: string | AddressCard | Destination
  /** Receipts wanted from distinct hosts. Default 1. */
  replicas?: number
  signal?: AbortSignal
  /** Bound on reaching one host and getting its receipt, ms. Default 30 000. */
  timeoutMs?: number
  /** Called when a host is tried. */
  onHost?: (host: string) => void
  /** Called while the proof-of-work is solved. */
  onProgress?: (progress: PowProgress) => void
  /**
   * The owner's nodes reachable right now (their own daemon, online: discovery/reach-owner.ts),
   * looked up while the proof-of-work is solved and tried before the card's hosts; a receipt from
   * one counts as one from a host. Only a first send uses it (retries go by the card).
   */
  reachNow?: () => Promise<CardHost[]>
  /** This machine's clock, ms: the stamp's time, and what a host's time is compared with. Default Date.now. */
  now?: () => number
}

/** Why one host gave no receipt. */
export interface DeliveryFailure {
  host: string
  code: ErrorCode
  message: string
  /**
   * With `ERR_STALE` from a host that said its time: this machine's clock minus the host's, ms
   * (positive: this machine is ahead).
   */
  skewMs?: number
  /** With `ERR_GRANT_EXPIRED`: when the host's grant for the inbox expired (ms since the epoch), as the host said. */
  expired?: number
}

/** What a send did: the receipts, and the stamped mail (for the outbox when receipts are missing). */
export interface SendResult {
  receipts: Receipt[]
  /** Per host that did not give a receipt: why. */
  failures: DeliveryFailure[]
  sealed: SealedMail
  inbox: string
  payload: MailPayload
}

/** A sealed, stamped mail ready to deliver (what the outbox keeps). */
export interface PreparedMail {
  destination: Destination
  inbox: string
  envelope: Uint8Array
  payload: MailPayload
}

/** Seal `draft` to the card's owner and stamp it at the card's difficulty plus the envelope's size extra (PROTOCOL §5.2). */
export async function prepareMail (draft: Draft, options: Pick<SendMailOptions, 'from' | 'card' | 'signal' | 'onProgress' | 'now'>): Promise<PreparedMail & { sealed: SealedMail }> {
  const destination = destinationOf(options.card)
  const inbox = inboxAddress(destination.owner, destination.bits)
  const sealed = await sealMail(draft, { from: options.from, to: destination.owner, inbox })
  const payload = await stampMail({ inbox, bits: destination.bits, envelopeCid: sealed.cid, size: sealed.envelope.byteLength }, options)
  return { destination, inbox, envelope: sealed.envelope, payload, sealed }
}

/**
 * Stamp a sealed envelope for `inbox` at `bits`, timed by this machine's clock: its MAIL payload
 * (docs/PROTOCOL.md §5, §9.2). The one stamping function: a first send and the outbox's new stamp
 * for a mail refused as stale both call it.
 */
export async function stampMail (mail: { inbox: string, bits: number, envelopeCid: CID, size: number }, options: Pick<SendMailOptions, 'signal' | 'onProgress' | 'now'> = {}): Promise<MailPayload> {
  const ts = (options.now ?? Date.now)()
  // The inbox's difficulty plus one bit per doubling of the envelope above the base size (§5.2).
  const bits = requiredPowBits(mail.bits, mail.size)
  const pow = await solvePow(powChallenge({ bits, ts, inbox: mail.inbox, envelopeCid: mail.envelopeCid }), bits, { signal: options.signal, onProgress: options.onProgress })
  return { op: 'MAIL', v: 1, env: mail.envelopeCid.toString(), size: mail.size, ts, pow }
}

/**
 * Deliver a prepared mail to the card's hosts in turn (skipping `exclude`, hosts that already gave
 * a receipt) until `wanted` new receipts; never throws for a host's failure, reports it.
 */
export async function deliverPrepared (mail: PreparedMail, wanted: number, options: { exclude?: string[], signal?: AbortSignal } & Pick<SendMailOptions, 'timeoutMs' | 'onHost' | 'now'> = {}): Promise<{ receipts: Receipt[], failures: SendResult['failures'] }> {
  const receipts: Receipt[] = []
  const failures: SendResult['failures'] = []
  const exclude = new Set(options.exclude ?? [])
  await withFreshSender(async (libp2p, dial) => {
    for (const host of mail.destination.hosts) {
      if (receipts.length >= wanted) break
      if (exclude.has(host.peer)) continue
      options.signal?.throwIfAborted()
      options.onHost?.(host.peer)
      const timeoutMs = options.timeoutMs ?? DEFAULT_DELIVER_TIMEOUT_MS
      const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(options.signal === undefined ? [] : [options.signal])])
      try {
        await dialCardHost(dial, host, signal)
        receipts.push(await deliverTo(libp2p, host.peer, { inbox: mail.inbox, mail: mail.payload, envelope: mail.envelope, pass: mail.destination.pass }, { signal, timeoutMs }))
      } catch (err) {
        if (options.signal?.aborted === true) throw err
        if (signal.aborted) {
          failures.push({ host: host.peer, code: 'ERR_TIMEOUT', message: `no receipt within ${timeoutMs / 1000} s` })
          continue
        }
        if (err instanceof DeliveryRefusedError && err.hostTime !== undefined) {
          failures.push(staleFailure(host.peer, err, (options.now ?? Date.now)() - err.hostTime))
          continue
        }
        if (err instanceof DeliveryRefusedError && err.code === 'ERR_GRANT_EXPIRED') {
          failures.push(expiredGrantFailure(host.peer, mail.destination.owner, err.expired))
          continue
        }
        failures.push({ host: host.peer, code: err instanceof IpmsError ? err.code : 'ERR_DELIVERY', message: (err as Error).message })
      }
    }
  })
  return { receipts, failures }
}

/** An `ERR_STALE` refusal from a host that said its time: whose clock is off, when it is ours. */
function staleFailure (host: string, err: DeliveryRefusedError, skewMs: number): DeliveryFailure {
  const note = clockNote(skewMs)
  return { host, code: err.code, message: note === undefined ? err.message : `${host} refused the mail as stale: ${note}`, skewMs }
}

/** An `ERR_GRANT_EXPIRED` refusal, said in the sender's words (the host's own reason is not shown). */
function expiredGrantFailure (host: string, owner: string, expired: number | undefined): DeliveryFailure {
  const when = expired === undefined ? '' : ` on ${new Date(expired).toISOString()}`
  return { host, code: 'ERR_GRANT_EXPIRED', message: `the grant of ${host} for ${owner} expired${when}: ${owner} must grant that host again, or send you a card without it`, ...(expired === undefined ? {} : { expired }) }
}

/**
 * What to tell the user about a host's clock: undefined when this machine's clock agrees with it
 * (within CLOCK_AGREEMENT_MS), else which way and how far apart they are, and what to do.
 */
export function clockNote (skewMs: number): string | undefined {
  if (Math.abs(skewMs) <= CLOCK_AGREEMENT_MS) return undefined
  return `this machine's clock is ${roughDuration(Math.abs(skewMs))} ${skewMs > 0 ? 'ahead of' : 'behind'} the host's. ` +
    'If this machine\'s clock is wrong, correct it: the outbox stamps the mail again on its next try'
}

/** A duration for people: "2 days", "3 hours", "15 minutes", "40 seconds". */
export function roughDuration (ms: number): string {
  const units: Array<[string, number]> = [['day', 86_400_000], ['hour', 3_600_000], ['minute', 60_000], ['second', 1000]]
  const [name, size] = units.find(([, size]) => ms >= size) ?? units.at(-1)!
  const n = Math.round(ms / size)
  return `${n} ${name}${n === 1 ? '' : 's'}`
}

/**
 * The receipts wanted (`replicas`, default 1), checked against the destination's hosts before any
 * proof-of-work: more receipts than hosts can never be had. InvalidArgumentError otherwise.
 */
export function wantedReceipts (destination: Destination, replicas = 1): number {
  if (!Number.isInteger(replicas) || replicas < 1) throw new InvalidArgumentError('replicas must be a whole number ≥ 1')
  if (destination.hosts.length === 0) {
    throw new InvalidArgumentError(`The card of ${destination.owner} lists no host: nobody can deliver to them yet. Ask them for their card once they have granted a host`)
  }
  if (destination.hosts.length < replicas) {
    throw new InvalidArgumentError(`${replicas} receipts from distinct hosts cannot be had: the card of ${destination.owner} lists ${destination.hosts.length === 1 ? '1 host' : `${destination.hosts.length} hosts`}. Ask for at most ${Math.max(1, destination.hosts.length)} (-k)`)
  }
  return replicas
}

/** Seal, stamp and deliver `draft`; throws NoHostError (with `result`) when fewer receipts came. */
export async function sendMail (draft: Draft, options: SendMailOptions): Promise<SendResult> {
  const destination = destinationOf(options.card)
  const wanted = wantedReceipts(destination, options.replicas)
  const prepared = await prepareMail(draft, { ...options, card: destination })
  const { receipts, failures } = await deliverPrepared(prepared, wanted, options)
  const result: SendResult = { receipts, failures, sealed: prepared.sealed, inbox: prepared.inbox, payload: prepared.payload }
  if (receipts.length < wanted) {
    throw new NoHostError(`${receipts.length} of the ${count(wanted, 'receipt')} wanted: ${failures.map(f => `${f.host}: ${f.message}`).join('; ')}. Keep the mail and try again later`, result)
  }
  return result
}
