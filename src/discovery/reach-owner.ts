/**
 * Mail as chat (issue #15): when the recipient's own node is online, a daemon delivers to it
 * directly, without the hop through a host — the same envelope, stamp and receipt (the owner's
 * node takes deliveries for its own inbox, PROTOCOL §12). Found by this node's connections and
 * peer store, else the DHT, within a short bound that runs beside the proof-of-work. An owner not
 * found is not looked for again for a few minutes: most mail goes to owners who are offline, and
 * their sends must not each wait for a search that cannot succeed (their hosts push the mail to
 * them within milliseconds once they are online anyway).
 */
import type { Libp2p } from '@libp2p/interface'
import type { CardHost } from '../hosting/card.ts'
import { boundedMap } from '../util/bounded-map.ts'
import { findPeerAddresses } from './dht.ts'

/** How long a send looks for the owner's node, ms. */
export const REACH_OWNER_TIMEOUT_MS = 1_000
/** How long an owner not found is not looked for again, ms. */
export const REACH_OWNER_MISS_MS = 5 * 60_000

export interface OwnerReach {
  /**
   * The owner's own node as a place to deliver (`[{ peer: owner, addrs }]`) when it can be found
   * now, else `[]`. Never throws, but AbortError when `signal` aborts.
   */
  reach: (owner: string, options?: { signal?: AbortSignal }) => Promise<CardHost[]>
}

/** Looking for owners' nodes from `libp2p` (one per daemon: it remembers who was not found). */
export function ownerReach (libp2p: Libp2p, options: { timeoutMs?: number, missMs?: number, now?: () => number } = {}): OwnerReach {
  const now = options.now ?? Date.now
  const missedAt = boundedMap<string, number>(4096)
  return {
    reach: async (owner, { signal } = {}) => {
      if (owner === libp2p.peerId.toString()) return []
      const missed = missedAt.get(owner)
      if (missed !== undefined && now() - missed < (options.missMs ?? REACH_OWNER_MISS_MS)) return []
      const bounded = AbortSignal.any([AbortSignal.timeout(options.timeoutMs ?? REACH_OWNER_TIMEOUT_MS), ...(signal === undefined ? [] : [signal])])
      let found: string[] = []
      try {
        // The DHT's search does not always end when its signal aborts (a send waited minutes on
        // it on a loaded machine): the bound is kept here, whatever the search does.
        found = await Promise.race([
          findPeerAddresses(libp2p, owner, { signal: bounded }),
          new Promise<string[]>(resolve => {
            if (bounded.aborted) resolve([])
            bounded.addEventListener('abort', () => { resolve([]) }, { once: true })
          })
        ])
      } catch {}
      signal?.throwIfAborted()
      // A card names the peer apart from its addresses; loopback and private ones are kept (a LAN, a test).
      const addrs = [...new Set(found.map(a => a.replace(/\/p2p\/[^/]+$/, '')))].filter(a => /\/tcp\/\d+$/.test(a))
      if (addrs.length === 0) {
        missedAt.set(owner, now())
        return []
      }
      missedAt.delete(owner)
      return [{ peer: owner, addrs }]
    }
  }
}
