/**
 * Dropping one inbox from a home's stores (`ipms host rm`, node/drop-hosted.ts): its entry blocks,
 * its envelope blocks, their pins, and every key of its records in the inbox store (heads, entry
 * index, mailbox index), and nothing of any other inbox (docs/ARCHITECTURE.md, stores).
 *
 * What is whose: an entry block names its inbox (`id`, checked by the rules, PROTOCOL.md §9.3), so
 * no other inbox holds it. An envelope is sealed to one inbox (its address is the AAD), but the
 * host cannot check that: a sender may deliver the same envelope bytes to two inboxes. So an
 * envelope block is kept when another inbox of the store carries it unpruned (`e!` without `x!`
 * in its mailbox index); that check reads two keys per envelope in every other inbox's index
 * (getMany in batches): a drop costs (envelopes × inboxes) lookups.
 *
 * Order, so that a crash anywhere leaves a drop that runs again to its end: the blocks and pins
 * first (found from the records), then the records (one range delete). Deleting what is already
 * gone is a no-op.
 */
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { parseEnvelopeCid } from '../../access/payloads.ts'
import type { LevelStores } from './block-writer.ts'
import { removeLevelBlocks } from './block-remover.ts'
import type { InboxStore, KeySpace } from './inbox-store.ts'

export interface DroppedInbox {
  /** Entry blocks deleted (with their pins). */
  entries: number
  /** Envelope blocks deleted (with their pins). */
  envelopes: number
  /** Envelope blocks kept because another inbox here carries them too. */
  shared: number
}

/** Envelopes looked up in one getMany. */
const LOOKUP_BATCH = 500

const collect = async <T>(iterable: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = []
  for await (const x of iterable) out.push(x)
  return out
}

/** Keys of `space` that start with `tag` (e.g. 'e!'), without it. */
const tagged = async (space: Pick<KeySpace<unknown>, 'keys'>, tag: string): Promise<string[]> =>
  (await collect(space.keys({ gt: tag, lt: tag.slice(0, -1) + '"' }))).map(k => k.slice(tag.length))

/** Of `envs`, those another inbox of `store` than `address` carries unpruned. */
async function carriedElsewhere (store: InboxStore, address: string, envs: string[]): Promise<Set<string>> {
  const shared = new Set<string>()
  if (envs.length === 0) return shared
  for await (const other of store.addresses()) {
    if (other === address) continue
    const index = store.spaces(other).mailbox
    for (let from = 0; from < envs.length; from += LOOKUP_BATCH) {
      const chunk = envs.slice(from, from + LOOKUP_BATCH)
      const found = await index.getMany([...chunk.map(e => `e!${e}`), ...chunk.map(e => `x!${e}`)])
      chunk.forEach((env, i) => { if (found[i] !== undefined && found[chunk.length + i] === undefined) shared.add(env) })
    }
  }
  return shared
}

/** Delete the inbox at `address` from a home's stores: its blocks, pins and records. */
export async function dropInboxRecords (stores: LevelStores & { inboxes: InboxStore }, address: string): Promise<DroppedInbox> {
  const spaces = stores.inboxes.spaces(address)
  // Entries: OrbitDB's index, and what the mailbox index saw (s!); envelopes: every one a MAIL
  // entry here carried (e!), and any queued for deletion (g!).
  const entryHashes = new Set([...await tagged(spaces.mailbox, 's!'), ...await collect(spaces.index.keys())])
  const envs = [...new Set([...await tagged(spaces.mailbox, 'e!'), ...await tagged(spaces.mailbox, 'g!')])]
  const shared = await carriedElsewhere(stores.inboxes, address, envs)
  const entryCids: CID[] = []
  for (const hash of entryHashes) {
    try {
      entryCids.push(CID.parse(hash, base58btc))
    } catch {
      // Not a CID: nothing was stored under it.
    }
  }
  const envelopeCids = envs.filter(env => !shared.has(env)).map(parseEnvelopeCid).filter((cid): cid is CID => cid !== undefined)
  await removeLevelBlocks(stores, [...entryCids, ...envelopeCids])
  await stores.inboxes.drop(address)
  return { entries: entryCids.length, envelopes: envelopeCids.length, shared: shared.size }
}
