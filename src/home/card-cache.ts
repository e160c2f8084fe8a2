/**
 * Cards found on the DHT, kept for a short while (`<home>/cards-cache.json`), so that a burst of
 * sends to one peer-id costs one lookup. An entry is used until the card's own expiry or 10
 * minutes after it was fetched, whichever comes first: short, so that a sender soon follows an
 * owner who changed hosts. Contacts' cards are the user's own and never come from here.
 */
import { join } from 'node:path'
import { encodeCard, verifyCard, type AddressCard } from '../hosting/card.ts'
import { readJsonFile, writeJsonSynced } from '../util/durable-files.ts'

export const CARD_CACHE_FILE_NAME = 'cards-cache.json'
/** Longest use of a looked-up card, ms. */
export const CARD_CACHE_MAX_AGE_MS = 10 * 60_000

export interface CardCache {
  /** A usable cached card of `peer`, if any. */
  get: (peer: string) => Promise<AddressCard | undefined>
  /** Keep a card just found (never replacing a newer one). */
  put: (card: AddressCard) => Promise<void>
}

export function openCardCache (home: string, options: { now?: () => number, maxAgeMs?: number } = {}): CardCache {
  const now = options.now ?? Date.now
  const maxAge = options.maxAgeMs ?? CARD_CACHE_MAX_AGE_MS
  const read = async (): Promise<Record<string, { card: string, fetched: number }>> => {
    // A damaged cache is only a cache: start again.
    const value = await readJsonFile(join(home, CARD_CACHE_FILE_NAME)).catch(() => undefined) as { cards?: Record<string, { card: string, fetched: number }> } | undefined
    return value?.cards ?? {}
  }
  const usable = (entry: { card: string, fetched: number } | undefined): AddressCard | undefined => {
    if (entry === undefined || now() - entry.fetched > maxAge) return undefined
    try {
      const card = verifyCard(entry.card)
      return card.expires !== undefined && card.expires > now() ? card : undefined
    } catch {
      return undefined
    }
  }
  return {
    get: async (peer) => usable((await read())[peer]),
    put: async (card) => {
      const cards = await read()
      const current = usable(cards[card.owner])
      if (current !== undefined && current.ts > card.ts) return
      cards[card.owner] = { card: encodeCard(card), fetched: now() }
      // Only entries still usable are kept: the file stays small.
      const kept = Object.fromEntries(Object.entries(cards).filter(([, e]) => usable(e) !== undefined))
      await writeJsonSynced(home, CARD_CACHE_FILE_NAME, { v: 1, cards: kept })
    }
  }
}
