/**
 * The `ipms-inbox` OrbitDB access controller (docs/PROTOCOL.md §9.3, rules version 2): who may grow
 * an inbox log.
 *
 * `canAppend(entry)` accepts exactly entries of the shape of entry-shape.ts (every field OrbitDB or
 * IPMS reads, bounded; `id` is this inbox) whose payload is
 * - a well-formed MAIL from anyone, carrying a proof-of-work at the inbox's difficulty plus its
 *   envelope's size extra, bound to this inbox and the envelope CID;
 * - a PRUNE signed by the owner's key (the one inside the owner's peer-id).
 *
 * Watch for (docs/DESIGN.md §3, §5):
 * - it is pure and deterministic: no clock, no network, the same verdict on every replica forever,
 *   because one rejected entry rejects everything built on it;
 * - it runs before OrbitDB checks the entry's signature, on attacker-controlled data, and many
 *   times per entry: it never throws, and caches verdicts by entry hash;
 * - it never looks at `entry.identity` (not covered by the entry signature): the owner's authority
 *   comes from the owner's signature inside the PRUNE payload.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { IPFSBlockStorage } from '@orbitdb/core'
import { INBOX_ACCESS_TYPE } from '../../constants.ts'
import type { Problem } from '../../errors.ts'
import { accessBlock, inboxParams, paramsFromAccessBlock, type InboxParams } from '../../access/inbox-address.ts'
import { inboxRules } from '../../access/inbox-rules.ts'

/** Verdicts kept per controller (entry hash → verdict): bounded, verdicts never change. */
const VERDICT_CACHE_SIZE = 256


export interface InboxAccessOptions {
  /** The owner's peer-id (when creating or opening by name). */
  owner?: string
  /** The inbox difficulty (when creating or opening by name). */
  bits?: number
}

/** The controller object OrbitDB calls. */
export interface InboxAccessController {
  type: string
  address: string
  params: InboxParams
  /** An OrbitDB entry as OrbitDB passes it (decoded, with `hash`): anything, checked field by field. */
  canAppend: (entry: unknown) => Promise<boolean>
  /** Why an entry is refused, or undefined when it is accepted (for logs and tests). */
  explain: (entry: unknown) => Problem | undefined
}

/**
 * The controller factory, in OrbitDB's shape: `InboxAccessController({ owner, bits })` gives the
 * function OrbitDB calls with `{ orbitdb, identities, address, name }`. Opened by address, it reads
 * its parameters back from its own block.
 */
export function InboxAccessController (options: InboxAccessOptions = {}) {
  return async ({ orbitdb, address }: { orbitdb: { ipfs: unknown }, address?: string }): Promise<InboxAccessController> => {
    const storage = await IPFSBlockStorage({ ipfs: orbitdb.ipfs, pin: true })
    let params: InboxParams
    if (address !== undefined) {
      const hash = address.split('/').pop() ?? ''
      const bytes = await storage.get(hash)
      const value = bytes === undefined ? undefined : dagCbor.decode(bytes)
      const parsed = paramsFromAccessBlock(value)
      if (parsed === undefined || accessBlock(parsed).hash !== CID.parse(hash, base58btc).toString(base58btc)) {
        throw new Error(`${address} is not an ipms-inbox access controller block`)
      }
      params = parsed
    } else {
      if (options.owner === undefined) throw new Error('An ipms-inbox access controller needs the owner\'s peer-id')
      params = inboxParams(options.owner, options.bits)
      const block = accessBlock(params)
      await storage.put(block.hash, block.bytes)
      address = `/${INBOX_ACCESS_TYPE}/${block.hash}`
    }
    return inboxController(params, address)
  }
}
InboxAccessController.type = INBOX_ACCESS_TYPE

/** The controller of the inbox of `params` (at `inbox`), at its `address` (`/ipms-inbox/<access block hash>`); no I/O. */
export function inboxController (params: InboxParams, address: string = `/${INBOX_ACCESS_TYPE}/${accessBlock(params).hash}`, inbox?: string): InboxAccessController {
  const rules = inboxRules(params, inbox)
  const verdicts = new Map<string, Problem | undefined>()
  const explain = (entry: unknown): Problem | undefined => {
    const claimed = (entry as { hash?: unknown } | null | undefined)?.hash
    const hash = typeof claimed === 'string' ? claimed : undefined
    if (hash !== undefined && verdicts.has(hash)) return verdicts.get(hash)
    const verdict = rules(entry)
    if (hash !== undefined) {
      if (verdicts.size >= VERDICT_CACHE_SIZE) verdicts.delete(verdicts.keys().next().value as string)
      verdicts.set(hash, verdict)
    }
    return verdict
  }
  return {
    type: INBOX_ACCESS_TYPE,
    address,
    params,
    explain,
    canAppend: async (entry) => explain(entry) === undefined
  }
}
