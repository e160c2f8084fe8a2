/**
 * The rules of an inbox (docs/PROTOCOL.md §9.3): what an entry must be for the inbox to accept
 * it, as one pure, deterministic verdict function (the same on every replica, at any time; never
 * throws: it runs on attacker-controlled entries before their signature is checked). The OrbitDB
 * controller that applies them is stores/orbitdb/inbox-access-controller.ts.
 */
import type { Problem } from '../errors.ts'
import { parsePeerId } from '../identity/peer-id.ts'
import { inboxAddress, type InboxParams } from './inbox-address.ts'
import { entryShapeProblem } from './entry-shape.ts'
import { mailPayloadProblem, prunePayloadProblem } from './payloads.ts'

/** The verdict function of the inbox of `params` (at `inbox`, its address): why an entry is refused, or undefined. Never throws. */
export function inboxRules (params: InboxParams, inbox: string = inboxAddress(params.owner, params.bits)): (entry: unknown) => Problem | undefined {
  // Read at the first PRUNE only: a peer-id's full check costs a curve point decoding (~0.1 ms),
  // and most openings of a host's inbox see MAIL entries alone.
  let ownerPublicKey: ReturnType<typeof parsePeerId>['publicKey'] | undefined
  return (entry) => {
    try {
      const shape = entryShapeProblem(entry, inbox)
      if (shape !== undefined) return shape
      const payload = (entry as { payload?: unknown }).payload as { op?: unknown } | null | undefined
      if (typeof payload !== 'object' || payload === null) return { code: 'ERR_MALFORMED', message: 'the payload is not a map' }
      if (payload.op === 'MAIL') return mailPayloadProblem(payload, inbox, params.bits)
      if (payload.op === 'PRUNE') return prunePayloadProblem(payload, inbox, ownerPublicKey ??= parsePeerId(params.owner).publicKey)
      return { code: 'ERR_MALFORMED', message: 'op must be MAIL or PRUNE' }
    } catch {
      return { code: 'ERR_MALFORMED', message: 'the entry cannot be read' }
    }
  }
}
