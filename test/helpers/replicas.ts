/**
 * Test helpers for inbox replication: a node with the sync and delivery services (every inbox it
 * opens is served over both), and mail put into an inbox as a host does after delivery.
 */
import { join } from 'node:path'
import type { Identity } from '../../src/identity/identity.ts'
import { sealMail } from '../../src/mail/seal.ts'
import { inboxAddress } from '../../src/access/inbox-address.ts'
import type { MailPayload } from '../../src/access/payloads.ts'
import { createInboxSync, type InboxSync, type SyncAuthorizer } from '../../src/node/sync.ts'
import { createGrant, type Grant } from '../../src/hosting/grant.ts'
import { createDeliveryService } from '../../src/node/deliver.ts'
import { servedFrom } from '../../src/node/inbox-lease.ts'
import type { HostPolicy } from '../../src/node/host-policy.ts'
import type { ConnectionLimits } from '../../src/node/connection-guard.ts'
import { openInbox, type Inbox } from '../../src/stores/orbitdb/open-inbox.ts'
import { startTestNode, type TestNode } from './nodes.ts'
import { stampedMail } from './inbox.ts'

export { stampedMail }

export interface Replica extends TestNode {
  sync: InboxSync
  delivery: ReturnType<typeof createDeliveryService>
  /** Open `owner`'s inbox here and serve it over /ipms/sync. */
  inbox: (owner: string, bits: number) => Promise<Inbox>
}

export interface ReplicaOptions {
  identity?: Identity
  home?: string
  authorize?: SyncAuthorizer
  /** Owners whose inboxes this replica hosts with a grant (signed here, no expiry). */
  grantsFrom?: Identity[]
  /** The grant to present instead (e.g. an expired one). */
  grantFor?: (inbox: Inbox) => Grant | undefined
  /** Host policy of the delivery service (defaults otherwise). */
  policy?: Partial<HostPolicy>
  /** createNode's `durableWrites` (default true); false only for a benchmark's baseline. */
  durableWrites?: boolean
  /** The node's connection limits (defaults otherwise). */
  connections?: Partial<ConnectionLimits>
  /** The sync service's deadline of one exchange, ms (its default otherwise). */
  syncTimeoutMs?: number
}

export async function startReplica (options: ReplicaOptions = {}): Promise<Replica> {
  const test = await startTestNode({ identity: options.identity, home: options.home, durableWrites: options.durableWrites, connections: options.connections })
  const grants = new Map((options.grantsFrom ?? []).map(owner => [owner.peerId, createGrant(owner, test.node.peerId)]))
  const sync = createInboxSync({
    libp2p: test.node.libp2p,
    authorize: options.authorize,
    grantFor: options.grantFor ?? (inbox => grants.get(inbox.owner)),
    timeoutMs: options.syncTimeoutMs
  })
  await sync.start()
  const opened = new Map<string, Inbox>()
  const byAddress = new Map<string, Inbox>()
  const delivery = createDeliveryService({ libp2p: test.node.libp2p, identity: test.identity, inboxFor: servedFrom(byAddress), policy: options.policy, passLedgerPath: join(test.home, 'passes') })
  await delivery.start()
  return {
    ...test,
    sync,
    delivery,
    inbox: async (owner, bits) => {
      const key = `${owner}/${bits}`
      let inbox = opened.get(key)
      if (inbox === undefined) {
        inbox = await openInbox(test.node.orbitdb, owner, bits)
        await sync.register(inbox)
        opened.set(key, inbox)
        byAddress.set(inbox.address, inbox)
      }
      return inbox
    },
    cleanup: async () => {
      await delivery.stop()
      await sync.stop()
      await test.cleanup()
    }
  }
}


/** Seal a mail from `from` to the inbox's owner and append it as a host would after delivery. */
export async function putMail (inbox: Inbox, from: Identity, body: string): Promise<{ hash: string, env: string, id: string }> {
  const { mail, envelope, id } = await stampedMail(from, inbox.owner, inbox.bits, body)
  await inbox.putEnvelope(mail.env, envelope)
  const hash = await inbox.add(mail)
  return { hash, env: mail.env, id }
}

/** A starter of replicas that remembers them, for one test file: `after(replica.stopAll)`. */
export interface ReplicaPool {
  (options?: ReplicaOptions): Promise<Replica>
  stopAll: () => Promise<void>
}

export function replicaPool (): ReplicaPool {
  const started: Replica[] = []
  const start = async (options: ReplicaOptions = {}): Promise<Replica> => {
    const replica = await startReplica(options)
    started.push(replica)
    return replica
  }
  return Object.assign(start, { stopAll: async () => { await Promise.all(started.splice(0).map(async r => await r.cleanup())) } })
}
