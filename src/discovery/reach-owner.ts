/**
 * Mail as chat (issue #15): when the recipient's own node is online, a daemon delivers to it
 * directly, without the hop through a host — the same envelope, stamp and receipt (the owner's
 * node takes deliveries for its own inbox, PROTOCOL §12). Found by this node's connections and
 * peer store, else the DHT, within a short bound: the lookup runs while the proof-of-work is
 * solved, so an owner who is offline costs a send nothing but that bound at most.
 */
import type { Libp2p } from '@libp2p/interface'
import type { CardHost } from '../hosting/card.ts'
import { findPeerAddresses } from './dht.ts'

/** How long a send looks for the owner's node, ms. */
export const REACH_OWNER_TIMEOUT_MS = 2_000

/**
 * The owner's own node as a place to deliver (`[{ peer: owner, addrs }]`) when it can be found
 * now, else `[]`. Never throws, but AbortError when `signal` aborts.
 */
export async function reachableOwner (libp2p: Libp2p, owner: string, options: { signal?: AbortSignal, timeoutMs?: number } = {}): Promise<CardHost[]> {
  if (owner === libp2p.peerId.toString()) return []
  const bounded = AbortSignal.any([AbortSignal.timeout(options.timeoutMs ?? REACH_OWNER_TIMEOUT_MS), ...(options.signal === undefined ? [] : [options.signal])])
  let found: string[] = []
  try {
    // The DHT's search does not always end when its signal aborts (a send waited minutes on it
    // on a loaded machine): the bound is kept here, whatever the search does.
    found = await Promise.race([
      findPeerAddresses(libp2p, owner, { signal: bounded }),
      new Promise<string[]>(resolve => {
        if (bounded.aborted) resolve([])
        bounded.addEventListener('abort', () => { resolve([]) }, { once: true })
      })
    ])
  } catch {}
  options.signal?.throwIfAborted()
  // A card names the peer apart from its addresses; loopback and private ones are kept (a LAN, a test).
  const addrs = [...new Set(found.map(a => a.replace(/\/p2p\/[^/]+$/, '')))].filter(a => /\/tcp\/\d+$/.test(a))
  return addrs.length === 0 ? [] : [{ peer: owner, addrs }]
}
