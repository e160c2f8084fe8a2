/**
 * Reaching a host named in an address card: its multiaddrs (without /p2p) tried in the card's
 * order, until one connects. Used by senders (delivery) and by hosts (their co-hosts).
 */
import { DeliveryError } from '../errors.ts'
import type { CardHost } from '../hosting/card.ts'

/** Dial `host` through `dial` by the first of its addresses that answers; DeliveryError if none. */
export async function dialCardHost (dial: (address: string, signal?: AbortSignal) => Promise<unknown>, host: CardHost, signal?: AbortSignal): Promise<void> {
  let lastError: unknown
  for (const addr of host.addrs) {
    try {
      await dial(`${addr}/p2p/${host.peer}`, signal)
      return
    } catch (err) {
      signal?.throwIfAborted()
      lastError = err
    }
  }
  throw new DeliveryError(`No address of ${host.peer} answered: ${(lastError as Error | undefined)?.message ?? 'the card lists none'}`, { cause: lastError })
}
