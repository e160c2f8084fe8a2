/**
 * The blocks of an inbox that a replica lacks, read from the node's blockstore (docs/PROTOCOL.md
 * §10, /ipms/sync): every entry from the log's heads down to what the replica has, then the
 * envelope blocks of unpruned mail among them and of what it asked for.
 *
 * Read from what Helia's blockstore wraps (its `unwrap()`), without its `has` before each `get`:
 * one LevelDB read per block (IPMS never runs Helia's GC; a block deleted meanwhile is just not
 * sent), and nothing is ever fetched from the network.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { parseEnvelopeCid } from '../../access/payloads.ts'
import type { InboxBlock } from '../inbox.ts'

/** Where blocks are read: a blockstore's `get`, which throws or yields nothing for a block it lacks. */
export interface BlockSource {
  get: (cid: CID, options?: { offline?: boolean }) => AsyncIterable<Uint8Array> | Iterable<Uint8Array>
}

/** Blocks read from the blockstore at once when sending envelopes: each read is a LevelDB round trip, mostly waiting. */
const READ_AHEAD = 16

/** Errors of a blockstore's `get` that mean "not here" (blockstore-level's, Helia's offline one). */
const NOT_FOUND = new Set(['NotFoundError', 'BlockNotFoundWhileOfflineError'])

/** The block of `cid` from the local blockstore, or undefined when it is not there (one lookup, not has + get). */
export async function readBlock (blockstore: BlockSource, cid: CID): Promise<Uint8Array | undefined> {
  const chunks: Uint8Array[] = []
  try {
    for await (const chunk of blockstore.get(cid, { offline: true })) chunks.push(chunk)
  } catch (err) {
    if (NOT_FOUND.has((err as Error).name)) return undefined
    throw err
  }
  if (chunks.length === 0) return undefined
  return chunks.length === 1 ? chunks[0]! : new Uint8Array(Buffer.concat(chunks))
}

/** The inbox, as far as finding its blocks needs it. */
export interface BlocksOf {
  heads: () => Promise<Array<{ hash: string }>>
  wantsEnvelope: (env: string) => Promise<boolean>
}

/** Blocks a replica that has `theirs` lacks: entries from the heads down to what it has, their envelopes, what it wants. */
export async function * blocksSince (blockstore: BlockSource, inbox: BlocksOf, theirs: ReadonlySet<string>, want: readonly string[]): AsyncGenerator<InboxBlock> {
  const stack = (await inbox.heads()).map(e => e.hash)
  const visited = new Set<string>()
  const envelopes = new Set<string>(want)
  while (stack.length > 0) {
    const hash = stack.pop()!
    if (visited.has(hash) || theirs.has(hash)) continue
    visited.add(hash)
    const cid = CID.parse(hash, base58btc)
    const bytes = await readBlock(blockstore, cid)
    if (bytes === undefined) continue
    yield { cid, bytes }
    // Entries in the log passed the rules when they came in (PROTOCOL.md §9.3): their shape holds.
    const entry = dagCbor.decode(bytes) as { next: string[], refs: string[], payload: { op?: string, env?: string } }
    if (entry.payload?.op === 'MAIL' && typeof entry.payload.env === 'string') envelopes.add(entry.payload.env)
    for (const parent of [...entry.next, ...entry.refs]) if (!visited.has(parent) && !theirs.has(parent)) stack.push(parent)
  }
  const list = [...envelopes]
  for (let i = 0; i < list.length; i += READ_AHEAD) {
    const read = await Promise.all(list.slice(i, i + READ_AHEAD).map(async env => {
      const cid = parseEnvelopeCid(env)
      if (cid === undefined || !await inbox.wantsEnvelope(env)) return undefined
      const bytes = await readBlock(blockstore, cid)
      return bytes === undefined ? undefined : { cid, bytes }
    }))
    for (const block of read) if (block !== undefined) yield block
  }
}
