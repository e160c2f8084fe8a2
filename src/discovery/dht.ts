/**
 * Finding people without a card (docs/PROTOCOL.md §14): the private IPMS DHT (`@libp2p/kad-dht`
 * on its own protocol, `/ipms/kad/1.0.0`, with the hosts-record validator and selector), and mDNS
 * on a LAN. Nodes (hosts, owners) run the DHT as servers; senders as clients.
 *
 * Watch for (docs/DESIGN.md §5): kad-dht drops private addresses unless told otherwise (loopback and
 * LAN are the point here: `passthroughMapper`); `put` reports success even when every peer refused
 * the record, so the peers that stored it are counted; a query needs at least one identified DHT
 * peer, so `waitForDhtPeers` waits for one after the bootstrap dials.
 */
import { kadDHT, passthroughMapper, type KadDHT, type SingleKadDHT } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import type { Libp2p, PeerDiscovery } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { DHT_PROTOCOL, HOSTS_RECORD_NAMESPACE } from '../constants.ts'
import { InvalidRecordError, IpmsError } from '../errors.ts'
import type { AddressCard } from '../hosting/card.ts'
import { checkHostsRecord, createHostsRecordValidator, hostsRecordKey, hostsRecordValue, selectHostsRecord } from './hosts-record.ts'

export interface DiscoveryOptions {
  /** Run the private IPMS DHT. Default true. */
  dht?: boolean
  /** Only ask the DHT, never answer (senders). Default false. */
  dhtClientMode?: boolean
  /** The DHT's protocol. Default `/ipms/kad/1.0.0` (a private DHT, not the public IPFS one). */
  dhtProtocol?: string
  /** Find peers on the LAN by mDNS (and dial them). Default false. */
  mdns?: boolean
  /** mDNS query interval, ms. Default 10 000. */
  mdnsIntervalMs?: number
}

/** The libp2p services for `options`: `dht` and `ping` when the DHT runs. */
export function discoveryServices (options: DiscoveryOptions): Record<string, (components: any) => unknown> {
  if (options.dht === false) return {}
  return {
    ping: ping(),
    dht: kadDHT({
      protocol: options.dhtProtocol ?? DHT_PROTOCOL,
      clientMode: options.dhtClientMode ?? false,
      // A sender's short-lived client waits for a DHT peer itself (waitForDhtPeers): its queries
      // need not also wait for kad-dht's first self-query, which starts only after 1 s.
      allowQueryWithZeroPeers: options.dhtClientMode === true,
      peerInfoMapper: passthroughMapper,
      validators: { [HOSTS_RECORD_NAMESPACE]: createHostsRecordValidator() },
      selectors: { [HOSTS_RECORD_NAMESPACE]: selectHostsRecord }
    })
  }
}

/** The libp2p peer discovery modules for `options` (mDNS when asked). */
export function discoveryModules (options: DiscoveryOptions): Array<(components: any) => PeerDiscovery> {
  return options.mdns === true ? [mdns({ interval: options.mdnsIntervalMs ?? 10_000 })] : []
}

/** Connections below which discovered peers are dialled: enough to join the DHT, no more. */
const DISCOVERY_DIAL_LIMIT = 8

/**
 * Dial peers that discovery reports (mDNS) while this node has fewer than a few connections:
 * libp2p 3 does not dial discovered peers by itself, and once a node is in the DHT, the DHT finds
 * the rest (kad-dht reports the peers its queries meet as discovered too: dialling them all would
 * connect every node to every other). Returns a function that stops listening.
 */
export function dialDiscoveredPeers (libp2p: Libp2p, options: DiscoveryOptions, onError: (peer: string, err: Error) => void = () => {}): () => void {
  // Without mDNS, the peers reported are the DHT's own finds: nothing to dial.
  if (options.mdns !== true) return () => {}
  const onDiscovery = (event: CustomEvent<{ id: { toString: () => string } }>): void => {
    const peer = event.detail.id
    if (libp2p.getConnections().length >= DISCOVERY_DIAL_LIMIT || libp2p.getConnections(peer as never).length > 0) return
    libp2p.dial(peer as never).catch((err: Error) => { onError(peer.toString(), err) })
  }
  libp2p.addEventListener('peer:discovery', onDiscovery as never)
  return () => { libp2p.removeEventListener('peer:discovery', onDiscovery as never) }
}

/** The node's DHT, or an error saying it runs without one. */
export function dhtOf (libp2p: Libp2p): KadDHT {
  const dht = (libp2p.services as { dht?: KadDHT }).dht
  if (dht === undefined) throw new IpmsError('ERR_NO_DHT', 'This node runs without the DHT ("dht": false in its config)')
  return dht
}

/** Wait until the DHT's routing table holds a peer (after bootstrap dials or mDNS), or the signal aborts. */
export async function waitForDhtPeers (libp2p: Libp2p, signal: AbortSignal): Promise<void> {
  // The routing table is an event target at run time; its public type shows only `size`.
  const table = (dhtOf(libp2p) as SingleKadDHT).routingTable as unknown as EventTarget & { size: number }
  if (table.size > 0) return
  await new Promise<void>((resolve, reject) => {
    const done = (): void => { table.removeEventListener('peer:add', onAdd); signal.removeEventListener('abort', onAbort) }
    const onAdd = (): void => { done(); resolve() }
    const onAbort = (): void => { done(); reject(new IpmsError('ERR_NO_DHT_PEER', 'No DHT peer answered: configure a bootstrap peer (a host is a good one), or enable mDNS on a LAN')) }
    table.addEventListener('peer:add', onAdd)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** Dial bootstrap multiaddrs; returns the ones that failed, with why. */
export async function dialBootstrap (libp2p: Libp2p, addresses: string[], signal?: AbortSignal): Promise<Array<{ address: string, error: string }>> {
  const failed: Array<{ address: string, error: string }> = []
  await Promise.all(addresses.map(async address => {
    try {
      await libp2p.dial(multiaddr(address), { signal })
    } catch (err) {
      failed.push({ address, error: (err as Error).message })
    }
  }))
  return failed
}

/**
 * Publish `card` as its owner's hosts record. Returns how many DHT peers stored it (the local
 * store not counted); throws when none did.
 */
export async function publishHostsRecord (libp2p: Libp2p, card: AddressCard, options: { signal?: AbortSignal } = {}): Promise<number> {
  const key = hostsRecordKey(card.owner)
  const value = hostsRecordValue(card)
  const dht = dhtOf(libp2p)
  // Never publish what honest nodes refuse. kad-dht stores its own puts without validating them,
  // so this node's validator runs here: it checks the card, and remembers it, refusing an older
  // one replayed to this node later.
  const validate = dht.validators[HOSTS_RECORD_NAMESPACE] ?? ((k: Uint8Array, v: Uint8Array) => { checkHostsRecord(k, v) })
  await validate(key, value)
  let stored = 0
  const errors: string[] = []
  for await (const event of dht.put(key, value, { signal: options.signal })) {
    if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') stored++
    if (event.name === 'QUERY_ERROR') errors.push(event.error.message)
  }
  if (stored === 0) throw new IpmsError('ERR_NOT_PUBLISHED', `No DHT peer stored the hosts record of ${card.owner}${errors.length > 0 ? `: ${errors[0]!}` : ''}`)
  return stored
}

/** Valid answers a lookup waits for before it settles on the newest (as IPNS resolvers do). */
export const DEFAULT_LOOKUP_QUORUM = 3

/**
 * The newest valid hosts record of `peer` on the DHT, or undefined when there is none. The search
 * stops once `quorum` peers gave a valid record (default 3), else when the query ends: waiting for
 * every holder costs about a second on a 20-node DHT, for a newer card that the owner's hosts
 * republish to all of them anyway.
 */
export async function lookupHostsRecord (libp2p: Libp2p, peer: string, options: { signal?: AbortSignal, quorum?: number } = {}): Promise<AddressCard | undefined> {
  const key = hostsRecordKey(peer)
  const quorum = options.quorum ?? DEFAULT_LOOKUP_QUORUM
  let best: AddressCard | undefined
  let answers = 0
  try {
    for await (const event of dhtOf(libp2p).get(key, { signal: options.signal })) {
      if (event.name !== 'VALUE') continue
      try {
        const card = checkHostsRecord(key, event.value)
        if (best === undefined || card.ts > best.ts) best = card
        if (++answers >= quorum) break
      } catch (err) {
        if (!(err instanceof InvalidRecordError)) throw err
      }
    }
  } catch (err) {
    options.signal?.throwIfAborted()
    // kad-dht ends a fruitless search with NotFoundError: no record is an answer, not a failure.
    if ((err as Error).name !== 'NotFoundError' || best !== undefined) throw err
  }
  return best
}

/** Where the DHT says `peer` listens (its own node, to deliver to it directly), or [] when unknown. */
export async function findPeerAddresses (libp2p: Libp2p, peer: string, options: { signal?: AbortSignal } = {}): Promise<string[]> {
  try {
    const info = await libp2p.peerRouting.findPeer(peerIdFromString(peer), { signal: options.signal })
    return info.multiaddrs.map(ma => ma.toString())
  } catch (err) {
    options.signal?.throwIfAborted()
    return []
  }
}

/** Call `fn` whenever a peer joins the DHT routing table; returns a function that stops it. */
export function onDhtPeer (libp2p: Libp2p, fn: () => void): () => void {
  const table = (dhtOf(libp2p) as SingleKadDHT).routingTable as unknown as EventTarget
  table.addEventListener('peer:add', fn)
  return () => { table.removeEventListener('peer:add', fn) }
}
