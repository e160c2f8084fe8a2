/**
 * Address cards (docs/PROTOCOL.md §11.2): the owner's signed list of the hosts that keep the
 * owner's inbox, with their addresses, and the inbox difficulty. Senders deliver to these hosts.
 *
 *   card = { v: 1, owner, bits, hosts: [{ peer, addrs: [multiaddr] }], ts, expires?, sig }   tag "ipms/card/v1"
 *   text = "ipmscard" ‖ base58btc(dag-cbor(card))
 *
 * A newer card (higher `ts`) replaces an older one: that is how an owner drops a host. `expires`
 * bounds how long the card is served as a DHT record (docs/PROTOCOL.md §14); a card a sender
 * already holds stays usable after it.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { CARD_PREFIX, MAX_CARD_ADDRS, MAX_CARD_HOSTS, MAX_POW_BITS, MIN_POW_BITS, TAG_CARD } from '../constants.ts'
import { encodeCbor } from '../crypto/codec.ts'
import { InvalidRecordError } from '../errors.ts'
import type { Identity } from '../identity/identity.ts'
import { parsePeerId } from '../identity/peer-id.ts'
import { decodeRecord, encodeRecord, hasOnly, isPeerIdText, isTime, signRecord, type SignedRecord } from './signed-record.ts'
import { isBytes } from '../util/fields.ts'

export interface CardHost {
  /** The host's peer-id. */
  peer: string
  /** Where to dial it (multiaddrs, without /p2p). */
  addrs: string[]
}

export interface AddressCard extends SignedRecord {
  /** The inbox difficulty senders must meet. */
  bits: number
  hosts: CardHost[]
  /** When the owner signed it, ms since the epoch; the newest card wins (the DHT record's sequence). */
  ts: number
  /** Until when it may be served as a DHT record, ms since the epoch. */
  expires?: number
  sig: Uint8Array
}

const FIELDS = ['v', 'owner', 'bits', 'hosts', 'ts', 'expires', 'sig']

/**
 * A multiaddr that does not end in /p2p: the card names the peer apart, and a dialer appends it
 * (§11.2); a relay's `…/p2p/<relay>/p2p-circuit` stays possible.
 */
function isMultiaddr (text: unknown): boolean {
  if (typeof text !== 'string' || text.length > 256) return false
  try {
    return multiaddr(text).getComponents().at(-1)?.name !== 'p2p'
  } catch {
    return false
  }
}

function cardProblem (fields: Record<string, unknown>): string | undefined {
  const extra = hasOnly(fields, FIELDS)
  if (extra !== undefined) return extra
  if (!isPeerIdText(fields.owner)) return 'owner must be a peer-id'
  if (typeof fields.bits !== 'number' || !Number.isInteger(fields.bits) || fields.bits < MIN_POW_BITS || fields.bits > MAX_POW_BITS) return `bits must be ${MIN_POW_BITS} to ${MAX_POW_BITS}`
  if (!isTime(fields.ts)) return 'ts must be a time in ms'
  if ('expires' in fields && (!isTime(fields.expires) || fields.expires <= fields.ts)) return 'expires must be a time after ts'
  if (!Array.isArray(fields.hosts) || fields.hosts.length > MAX_CARD_HOSTS) return `hosts must be a list of at most ${MAX_CARD_HOSTS}`
  for (const host of fields.hosts as unknown[]) {
    if (typeof host !== 'object' || host === null) return 'a host is not a map'
    const { peer, addrs } = host as Record<string, unknown>
    if (hasOnly(host as Record<string, unknown>, ['peer', 'addrs']) !== undefined) return 'a host has unknown fields'
    if (!isPeerIdText(peer)) return 'a host peer must be a peer-id'
    if (!Array.isArray(addrs) || addrs.length > MAX_CARD_ADDRS || !addrs.every(isMultiaddr)) return `a host's addrs must be at most ${MAX_CARD_ADDRS} multiaddrs, none ending in /p2p`
  }
  return undefined
}

/** Sign a card listing `hosts` for the owner's inbox at difficulty `bits`, valid `ttlMs` as a DHT record when given. */
export function createCard (owner: Identity, hosts: CardHost[], bits: number, now = Date.now(), ttlMs?: number): AddressCard {
  const normalised = hosts.map(h => ({ peer: parsePeerId(h.peer).peerId, addrs: [...h.addrs] }))
  const fields: Record<string, unknown> = { bits, hosts: normalised, ts: now }
  if (ttlMs !== undefined) fields.expires = now + ttlMs
  const problem = cardProblem({ v: 1, owner: owner.peerId, ...fields })
  if (problem !== undefined) throw new InvalidRecordError(`Cannot make this card: ${problem}`)
  return signRecord(TAG_CARD, owner, fields) as unknown as AddressCard
}

export const encodeCard = (card: AddressCard): string => encodeRecord(CARD_PREFIX, card)

/** Read and check a card (signed by its owner; `owner`, when given, must match). */
export function verifyCard (input: string | Uint8Array | AddressCard, options: { owner?: string } = {}): AddressCard {
  const source = typeof input === 'string' || isBytes(input) ? input : encodeCbor(input)
  const card = decodeRecord<AddressCard>(source, CARD_PREFIX, TAG_CARD, 'address card', cardProblem)
  for (const host of card.hosts) {
    try {
      if (parsePeerId(host.peer).peerId !== host.peer) throw new InvalidRecordError('not canonical')
    } catch (err) {
      throw new InvalidRecordError(`This address card lists a host that is not a canonical IPMS peer-id: ${host.peer}`, { cause: err })
    }
  }
  if (options.owner !== undefined && card.owner !== parsePeerId(options.owner).peerId) {
    throw new InvalidRecordError(`This address card is ${card.owner}'s, not ${options.owner}'s`)
  }
  return card
}
