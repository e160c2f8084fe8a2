/**
 * A whole IPMS node on a home, as `ipms sync` and `ipms daemon` run it (docs/ARCHITECTURE.md,
 * node): libp2p + Helia + OrbitDB on the home's stores, the owner's own inbox served over
 * /ipms/sync and /ipms/deliver (senders can deliver to an online owner directly), the inboxes
 * hosted for friends under their grants, and the host policy from the home's config.
 */
import { join } from 'node:path'
import { loadConfig, type HomeConfig } from '../home/config.ts'
import type { Identity } from '../identity/identity.ts'
import type { Inbox } from '../stores/inbox.ts'
import { openInbox } from '../stores/orbitdb/index.ts'
import { asStorageFull } from '../stores/storage-health.ts'
import { asTooManyFiles } from '../util/fd-limit.ts'
import { createNode, type IpmsNode } from './create-node.ts'
import type { HomeLockWait } from './home-lock.ts'
import { createDeliveryService } from './deliver.ts'
import { openHosting, type Hosting } from './hosting.ts'
import { alwaysOpen, type InboxResolver } from './inbox-lease.ts'
import { createInboxSync, type InboxSync } from './sync.ts'

/** The home's directory of the contacts' passes accounting (a LevelDB, docs/PROTOCOL.md §13). */
export const PASS_LEDGER_DIR = 'passes'

export interface HomeNodeOptions {
  home: string
  identity: Identity
  /** Default: the home's config.json. */
  config?: HomeConfig
  /** Listen addresses instead of the config's. */
  listen?: string[]
  /** mDNS query interval, ms, when the config turns mDNS on (default 10 000). */
  mdnsIntervalMs?: number
  signal?: AbortSignal
  /** Wait (bounded) for another process holding the home (create-node.ts). Default: fail at once. */
  lockWait?: HomeLockWait
}

export interface HomeNode {
  node: IpmsNode
  config: HomeConfig
  sync: InboxSync
  /** The owner's own inbox. */
  inbox: Inbox
  hosting: Hosting
  /** Bootstrap peers that could not be dialled at start, with why. */
  unreachableBootstrap: Array<{ address: string, error: string }>
  /** Stop every service and the node; releases the home. */
  stop: () => Promise<void>
}

export async function startHomeNode (options: HomeNodeOptions): Promise<HomeNode> {
  const { home, identity, signal } = options
  const config = options.config ?? await loadConfig(home)
  let node: IpmsNode
  try {
    node = await createNode({ home, identity, listen: options.listen ?? config.listen, signal, lockWait: options.lockWait, discovery: { dht: config.dht, dhtProtocol: config.dhtProtocol, mdns: config.mdns, mdnsIntervalMs: options.mdnsIntervalMs } })
  } catch (err) {
    // Out of descriptors, the stores do not open: said plainly (exit 71), not "Database failed to open".
    throw asTooManyFiles(err, `starting the node on ${home}`)
  }
  const stops: Array<() => Promise<void>> = [async () => { await node.stop() }]
  const stop = async (): Promise<void> => {
    for (const part of stops.splice(0).reverse()) await part().catch(() => {})
  }
  try {
    // The sync service shows this node's grant to other replicas and serves the hosted inboxes;
    // grants live in hosting, which needs the sync service to register the inboxes it opens: bound late.
    let hosting: Hosting | undefined
    let own: ReturnType<typeof alwaysOpen> | undefined
    /** The own inbox (always open), else a hosted one (opened on demand). */
    const inboxFor: InboxResolver = address => address === own?.address ? own : hosting?.inboxFor(address)
    const sync = createInboxSync({ libp2p: node.libp2p, grantFor: inbox => hosting?.grantFor(inbox), inboxFor })
    await sync.start()
    stops.push(async () => { await sync.stop() })
    const inbox = await openInbox(node.orbitdb, identity.peerId, config.bits)
    await sync.register(inbox)
    own = alwaysOpen(inbox)
    hosting = await openHosting({ node, sync, maxOpenInboxes: config.maxOpenInboxes })
    const served = hosting
    stops.push(async () => { await served.close() })
    const delivery = createDeliveryService({
      libp2p: node.libp2p,
      identity,
      inboxFor,
      expiredGrant: address => hosting?.expiredGrant(address),
      policy: config.hostPolicy,
      passLedgerPath: join(home, PASS_LEDGER_DIR)
    })
    await delivery.start()
    stops.push(async () => { await delivery.stop() })
    const unreachableBootstrap: HomeNode['unreachableBootstrap'] = []
    for (const address of config.bootstrap) {
      try {
        await node.dial(address, { signal })
      } catch (err) {
        signal?.throwIfAborted()
        unreachableBootstrap.push({ address, error: (err as Error).message })
      }
    }
    return { node, config, sync, inbox, hosting, unreachableBootstrap, stop }
  } catch (err) {
    await stop()
    // The inbox's LevelDBs cannot open on a full disk: StorageFullError (exit 74), not a bug.
    throw asTooManyFiles(asStorageFull(err, options.home), `starting the node on ${home}`)
  }
}
