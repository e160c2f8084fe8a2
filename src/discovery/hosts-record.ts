/**
 * The hosts record on the DHT (docs/PROTOCOL.md §14): an owner's address card, published under
 * `/ipms/<peer-id>` in the private IPMS DHT, so that a sender who knows only the peer-id finds the
 * owner's hosts. Anyone may store it (hosts republish their owners' records while the owners are
 * offline); only the owner can sign it.
 *
 *   key   = UTF-8 "/ipms/" ‖ peer-id
 *   value = dag-cbor of the card (§11.2), with `expires`
 *
 * Every DHT node runs `validateHostsRecord` on what it stores and returns: the card must be signed
 * by the key inside the key's peer-id, unexpired, live at most 90 days, and not older than a card
 * this node has already seen for that key (a replayed older card is refused). `selectHostsRecord`
 * picks the newest (`ts`) of several.
 */
import { DHT_PROTOCOL, HOSTS_RECORD_NAMESPACE, MAX_HOSTS_RECORD_LIFETIME_MS } from '../constants.ts'
import { encodeCbor } from '../crypto/codec.ts'
import { InvalidRecordError } from '../errors.ts'
import { verifyCard, type AddressCard } from '../hosting/card.ts'
import { parsePeerId } from '../identity/peer-id.ts'

export { DHT_PROTOCOL }

const PREFIX = `/${HOSTS_RECORD_NAMESPACE}/`
/** Keys whose newest `ts` a node remembers, to refuse replays (oldest forgotten first). */
const MAX_REMEMBERED_KEYS = 10_000

/** The DHT key of `peer`'s hosts record. */
export function hostsRecordKey (peer: string): Uint8Array {
  return new TextEncoder().encode(PREFIX + parsePeerId(peer).peerId)
}

/** The owner a key names; InvalidRecordError when it is not an IPMS hosts-record key. */
export function hostsRecordOwner (key: Uint8Array): string {
  const text = new TextDecoder().decode(key)
  if (!text.startsWith(PREFIX)) throw new InvalidRecordError(`${text.slice(0, 64)} is not an IPMS hosts-record key`)
  return parsePeerId(text.slice(PREFIX.length)).peerId
}

/** The value stored for a card. */
export const hostsRecordValue = (card: AddressCard): Uint8Array => encodeCbor(card)

/** Check a record's card against its key and the clock (no replay check). Returns the card. */
export function checkHostsRecord (key: Uint8Array, value: Uint8Array, now = Date.now()): AddressCard {
  const owner = hostsRecordOwner(key)
  const card = verifyCard(value, { owner })
  if (card.expires === undefined) throw new InvalidRecordError(`The hosts record of ${owner} has no expiry: it cannot be published`)
  if (card.expires <= now) throw new InvalidRecordError(`The hosts record of ${owner} expired at ${new Date(card.expires).toISOString()}`)
  if (card.expires - card.ts > MAX_HOSTS_RECORD_LIFETIME_MS) throw new InvalidRecordError(`The hosts record of ${owner} claims to live longer than ${MAX_HOSTS_RECORD_LIFETIME_MS / 86_400_000} days`)
  return card
}

/**
 * The validator a DHT node runs for the `ipms` namespace. Stateful: it remembers the newest `ts`
 * seen per key, and refuses older cards (replays) from then on.
 */
export function createHostsRecordValidator (options: { now?: () => number } = {}) {
  const now = options.now ?? Date.now
  const newest = new Map<string, number>()
  return (key: Uint8Array, value: Uint8Array): void => {
    const card = checkHostsRecord(key, value, now())
    const seen = newest.get(card.owner)
    if (seen !== undefined && card.ts < seen) {
      throw new InvalidRecordError(`The hosts record of ${card.owner} is older than one this node has seen (a replay)`)
    }
    newest.delete(card.owner)
    newest.set(card.owner, Math.max(seen ?? 0, card.ts))
    if (newest.size > MAX_REMEMBERED_KEYS) newest.delete(newest.keys().next().value!)
  }
}

/** The selector for the `ipms` namespace: the index of the newest valid card (0 when none is). */
export function selectHostsRecord (key: Uint8Array, records: Uint8Array[]): number {
  let best = 0
  let bestTs = -1
  records.forEach((value, index) => {
    try {
      const card = checkHostsRecord(key, value)
      if (card.ts > bestTs) { best = index; bestTs = card.ts }
    } catch { /* an invalid record never wins */ }
  })
  return best
}
