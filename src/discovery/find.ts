/**
 * Sending with nothing but a peer-id (docs/PROTOCOL.md §14): find where to deliver, from a fresh
 * identity that joins the IPMS DHT as a client (through the configured bootstrap peers, or mDNS on
 * a LAN). The owner's hosts record first; else the owner's own node, if the DHT knows where it
 * listens (its inbox then at the default difficulty).
 */
import { DEFAULT_POW_BITS } from '../constants.ts'
import { UnknownRecipientError } from '../errors.ts'
import type { AddressCard } from '../hosting/card.ts'
import { parsePeerId } from '../identity/peer-id.ts'
import { withFreshSender } from '../node/sender.ts'
import type { Destination } from '../node/send-mail.ts'
import { dialBootstrap, findPeerAddresses, lookupHostsRecord, waitForDhtPeers } from './dht.ts'

/** Default bound on a lookup, ms. */
export const DEFAULT_LOOKUP_TIMEOUT_MS = 20_000

export interface FindOptions {
  /** Multiaddrs (with /p2p/…) of DHT peers to start from (a host is a good one). */
  bootstrap?: string[]
  /** Also find DHT peers on the LAN by mDNS. Default false. */
  mdns?: boolean
  /** mDNS query interval, ms (tests shorten it). */
  mdnsIntervalMs?: number
  /** The DHT's protocol, when not the IPMS default. */
  dhtProtocol?: string
  signal?: AbortSignal
  /** Bound on the whole lookup, ms. Default 20 000. */
  timeoutMs?: number
}

/** What was found, and how: `dht` (the hosts record) or `direct` (the owner's own node). */
export interface Found { destination: Destination, via: 'dht' | 'direct', card?: AddressCard }

/** Find where to deliver to `peer`; UnknownRecipientError when neither a record nor the node is found. */
export async function findDestination (peer: string, options: FindOptions = {}): Promise<Found> {
  const owner = parsePeerId(peer).peerId
  const signal = AbortSignal.any([AbortSignal.timeout(options.timeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS), ...(options.signal === undefined ? [] : [options.signal])])
  return await withFreshSender(async (libp2p) => {
    const bootstrap = options.bootstrap ?? []
    const failed = await dialBootstrap(libp2p, bootstrap, signal)
    const noPeer = (cause?: unknown): UnknownRecipientError => {
      const why = failed.length > 0 ? ` (bootstrap: ${failed.map(f => `${f.address}: ${f.error}`).join('; ')})` : ''
      return new UnknownRecipientError(`Cannot look up ${owner}: no DHT peer to ask${why}. Configure "bootstrap" in config.json (a host is a good one), or "mdns": true on a LAN; or add the recipient's card with ipms contacts add NAME CARD`, { cause })
    }
    // Nothing to wait for: no bootstrap peer answered and mDNS is off.
    if (options.mdns !== true && failed.length === bootstrap.length) throw noPeer()
    try {
      await waitForDhtPeers(libp2p, signal)
    } catch (err) {
      options.signal?.throwIfAborted()
      throw noPeer(err)
    }
    const card = await lookupHostsRecord(libp2p, owner, { signal })
    if (card !== undefined) return { destination: { owner, bits: card.bits, hosts: card.hosts, card }, via: 'dht', card }
    const addrs = (await findPeerAddresses(libp2p, owner, { signal })).map(a => a.replace(/\/p2p\/[^/]+$/, ''))
    if (addrs.length > 0) return { destination: { owner, bits: DEFAULT_POW_BITS, hosts: [{ peer: owner, addrs }] }, via: 'direct' }
    options.signal?.throwIfAborted()
    throw new UnknownRecipientError(`${owner} has no hosts record on the DHT and its node was not found: ask them for their card (ipms card) and add it with ipms contacts add NAME CARD`)
  }, { discovery: { dht: true, mdns: options.mdns, mdnsIntervalMs: options.mdnsIntervalMs, dhtProtocol: options.dhtProtocol } })
}
