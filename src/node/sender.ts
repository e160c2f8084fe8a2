/**
 * A sender's connection to the network for one send: a libp2p node with a fresh random identity
 * (sealed sender, docs/DESIGN.md §1: hosts do not learn who writes to whom; the real sender is only
 * inside the envelope), dial-only, stopped afterwards. With `discovery`, it also runs the IPMS DHT
 * as a client (and mDNS), to find an owner's hosts from the peer-id alone.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { dialDiscoveredPeers, discoveryModules, discoveryServices, type DiscoveryOptions } from '../discovery/dht.ts'
import { quietLogger } from './quiet-logger.ts'

/** A fresh, dial-only libp2p node (started), with `services` beside identify (and the DHT client with `discovery`). */
export async function freshLibp2p<S extends Record<string, unknown> = Record<string, unknown>> (options: { discovery?: DiscoveryOptions, services?: { [K in keyof S]: (components: any) => S[K] } } = {}): Promise<Libp2p<S & Record<string, unknown>>> {
  const discovery: DiscoveryOptions = { dht: false, ...options.discovery, dhtClientMode: true }
  return await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    logger: quietLogger(),
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ...discoveryServices(discovery), ...options.services },
    peerDiscovery: discoveryModules(discovery)
  }) as unknown as Libp2p<S & Record<string, unknown>>
}

/** Run `use` with a fresh, dial-only libp2p node, and stop the node whatever happens. */
export async function withFreshSender<T> (use: (libp2p: Libp2p, dial: (address: string, signal?: AbortSignal) => Promise<void>) => Promise<T>, options: { discovery?: DiscoveryOptions } = {}): Promise<T> {
  const discovery: DiscoveryOptions = { dht: false, ...options.discovery, dhtClientMode: true }
  const libp2p = await freshLibp2p({ discovery })
  const stopDialling = dialDiscoveredPeers(libp2p, discovery)
  try {
    return await use(libp2p, async (address, signal) => { await libp2p.dial(multiaddr(address), { signal }) })
  } finally {
    stopDialling()
    await libp2p.stop()
  }
}
