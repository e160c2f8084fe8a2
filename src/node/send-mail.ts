/**
 * Sending a mail to an owner by their address card (docs/PROTOCOL.md §12): seal, stamp, then
 * deliver to the card's hosts in turn from a fresh identity, until `replicas` hosts have signed a
 * receipt. The library call behind `ipms send`.
 */
import { inboxAddress } from '../access/inbox-address.ts'
import type { MailPayload } from '../access/payloads.ts'
import { powChallenge, requiredPowBits, solvePow, type PowProgress } from '../crypto/pow/index.ts'
import { InvalidArgumentError, IpmsError, NoHostError } from '../errors.ts'
import { verifyCard, type AddressCard, type CardHost } from '../hosting/card.ts'
import type { Identity } from '../identity/identity.ts'
import { sealMail, type Draft, type SealedMail } from '../mail/seal.ts'
import { DEFAULT_DELIVER_TIMEOUT_MS, deliverTo, type Receipt } from './deliver.ts'
import { dialCardHost } from './dial-host.ts'
import { withFreshSender } from './sender.ts'

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
}

const isDestination = (value: string | AddressCard | Destination): value is Destination =>
  typeof value === 'object' && 'hosts' in value && !('sig' in value)

/** A card (checked) or a destination as it is. */
const destinationOf = (value: string | AddressCard | Destination): Destination => isDestination(value) ? value : cardDestination(value)

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
}

/** What a send did: the receipts, and the stamped mail (for the outbox when receipts are missing). */
export interface SendResult {
  receipts: Receipt[]
  /** Per host that did not give a receipt: why. */
  failures: Array<{ host: string, code: string, message: string }>
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
export async function prepareMail (draft: Draft, options: Pick<SendMailOptions, 'from' | 'card' | 'signal' | 'onProgress'>): Promise<PreparedMail & { sealed: SealedMail }> {
  const destination = destinationOf(options.card)
  const inbox = inboxAddress(destination.owner, destination.bits)
  const sealed = await sealMail(draft, { from: options.from, to: destination.owner, inbox })
  const ts = Date.now()
  const bits = requiredPowBits(destination.bits, sealed.envelope.byteLength)
  const pow = await solvePow(powChallenge({ bits, ts, inbox, envelopeCid: sealed.cid }), bits, { signal: options.signal, onProgress: options.onProgress })
  const payload: MailPayload = { op: 'MAIL', v: 1, env: sealed.cid.toString(), size: sealed.envelope.byteLength, ts, pow }
  return { destination, inbox, envelope: sealed.envelope, payload, sealed }
}

/**
 * Deliver a prepared mail to the card's hosts in turn (skipping `exclude`, hosts that already gave
 * a receipt) until `wanted` new receipts; never throws for a host's failure, reports it.
 */
export async function deliverPrepared (mail: PreparedMail, wanted: number, options: { exclude?: string[], signal?: AbortSignal } & Pick<SendMailOptions, 'timeoutMs' | 'onHost'> = {}): Promise<{ receipts: Receipt[], failures: SendResult['failures'] }> {
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
        receipts.push(await deliverTo(libp2p, host.peer, { inbox: mail.inbox, mail: mail.payload, envelope: mail.envelope }, { signal, timeoutMs }))
      } catch (err) {
        if (options.signal?.aborted === true) throw err
        if (signal.aborted) {
          failures.push({ host: host.peer, code: 'ERR_TIMEOUT', message: `no receipt within ${timeoutMs / 1000} s` })
          continue
        }
        failures.push({ host: host.peer, code: err instanceof IpmsError ? err.code : 'ERR_DELIVERY', message: (err as Error).message })
      }
    }
  })
  return { receipts, failures }
}

/** Seal, stamp and deliver `draft`; throws NoHostError (with `result`) when fewer receipts came. */
export async function sendMail (draft: Draft, options: SendMailOptions): Promise<SendResult> {
  const wanted = options.replicas ?? 1
  if (!Number.isInteger(wanted) || wanted < 1) throw new InvalidArgumentError('replicas must be a whole number ≥ 1')
  const destination = destinationOf(options.card)
  if (destination.hosts.length < wanted) throw new InvalidArgumentError(`The card of ${destination.owner} lists ${destination.hosts.length} hosts; ${wanted} receipts cannot be had`)
  const prepared = await prepareMail(draft, { ...options, card: destination })
  const { receipts, failures } = await deliverPrepared(prepared, wanted, options)
  const result: SendResult = { receipts, failures, sealed: prepared.sealed, inbox: prepared.inbox, payload: prepared.payload }
  if (receipts.length < wanted) {
    throw new NoHostError(`${receipts.length} of the ${wanted} receipts wanted: ${failures.map(f => `${f.host}: ${f.message}`).join('; ')}. Keep the mail and try again later`, result)
  }
  return result
}
