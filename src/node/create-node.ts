/**
 * One IPMS node: libp2p + Helia + OrbitDB on an IPMS home, started and stopped as one unit.
 *
 * ```ts
 * const node = await createNode({ home, identity })      // peer-id = identity.peerId
 * await node.dial(other.multiaddrs()[0])
 * const inbox = await node.orbitdb.open(address, { sync: false })
 * await node.stop()
 * ```
 *
 * State under the home: `blocks/` (blockstore-level: entries, envelopes), `datastore/`
 * (datastore-level: Helia's pins, which must survive restarts), `inboxes/` (every inbox's heads,
 * entry index and mailbox index: stores/orbitdb/inbox-store.ts), `orbitdb/` (OrbitDB's keystore), `lock`
 * (see home-lock.ts). A LevelDB each, opened once: opening an inbox opens no file. A home of the
 * former layout (an inbox in LevelDBs of its own) is moved into `inboxes/` at start
 * (stores/orbitdb/migrate-inboxes.ts).
 *
 * Watch out for:
 * - Nothing here reaches outside what is configured: TCP on the given addresses, Noise, Yamux,
 *   identify (gossipsub only on request). No bootstrap, DHT, mDNS, relay, UPnP, AutoNAT, HTTP gateways or
 *   delegated routing (Helia's defaults add all of these; every default is overridden here).
 *   libp2p's connection monitor stays on: it pings peers every 10 s over open connections only.
 * - Connections are limited for a host on the open internet (connection-guard.ts, PROTOCOL §12.2):
 *   handshakes bounded and timed out in 3 s, strangers' connections bounded per address, per /24
 *   or /48 and in all, idle ones closed; peers given to `protect()` are exempt.
 * - libp2p keeps its peer store in memory: remembered addresses do not outlive the process.
 * - OrbitDB's `useAccessController` / `useDatabaseType` registries are global to the process;
 *   a type registered here stays registered for every node in the process.
 * - `stop()` bounds each part by `stopTimeout`: a part that hangs is logged and skipped, so the
 *   home lock is always released, even if a LevelDB stays open (its own lock then blocks reuse
 *   by another process until this one exits).
 * - Debug logs: `DEBUG=ipms:node` (libp2p's logger, silent by default; quiet-logger.ts makes the
 *   silent ones free).
 */
import { join, resolve } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bitswap } from '@helia/block-brokers'
import { libp2pRouting } from '@helia/routers'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import type { KadDHT } from '@libp2p/kad-dht'
import { identify, type Identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import type { Connection, Libp2p, Logger } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { LevelBlockstore } from 'blockstore-level'
import { LevelDatastore } from 'datastore-level'
import { createHelia, type Helia } from 'helia'
import { createLibp2p } from 'libp2p'
import { dialDiscoveredPeers, discoveryModules, discoveryServices, type DiscoveryOptions } from '../discovery/dht.ts'
import { AbortError, HomeInUseError, InvalidArgumentError } from '../errors.ts'
import { ensureHome } from '../identity/home.ts'
import type { Identity } from '../identity/identity.ts'
import { acquireHomeLock, type HomeLock, type HomeLockWait } from './home-lock.ts'
import { attachGuard, connectionGuard, type ConnectionLimits } from './connection-guard.ts'
import { asListenError, checkListenAddrs } from './listen-addrs.ts'
import { asStorageFull, createStorageHealth, type StorageHealth } from '../stores/storage-health.ts'
import { HOME_INBOXES_DIR, HOME_ORBITDB_DIR, inboxLevel, inboxStore, migrateInboxes, startOrbitDB, useAccessController, useDatabaseType, useLevelStores, type OrbitDB } from '../stores/orbitdb/index.ts'
import { quietLogger } from './quiet-logger.ts'

/** Listen addresses when none are given: loopback, a port chosen by the OS. */
export const DEFAULT_LISTEN = Object.freeze(['/ip4/127.0.0.1/tcp/0'])
/** Default bound on each part of `stop()` (OrbitDB, Helia + libp2p, each LevelDB), in ms. */
export const DEFAULT_STOP_TIMEOUT_MS = 10_000

/** Sub-directories of the home. */
/** New inbound connections accepted per second from one address (libp2p's default is 5). */
export const DEFAULT_INBOUND_CONNECTIONS_PER_SECOND = 100
export const HOME_BLOCKS_DIR = 'blocks'
export const HOME_DATASTORE_DIR = 'datastore'
export { HOME_ORBITDB_DIR }
/** Table files each of the node's LevelDBs keeps open at most (classic-level's `maxOpenFiles`). */
export const LEVEL_MAX_OPEN_FILES = 64

/** The libp2p services of an IPMS node. */
export interface IpmsServices extends Record<string, unknown> {
  identify: Identify
  /** Gossipsub, only with `pubsub: true` (CreateNodeOptions). */
  pubsub?: GossipSub
  /** The private IPMS DHT, unless the node runs without it. */
  dht?: KadDHT
}
export type IpmsLibp2p = Libp2p<IpmsServices>
export type IpmsHelia = Helia<IpmsLibp2p>

export interface CreateNodeOptions {
  /** The IPMS home directory; all state lives under it. Created (0700) if missing. Required. */
  home: string
  /** Who the node is: libp2p runs with `identity.privateKey`, so its peer-id is the address. Required. */
  identity: Identity
  /** Multiaddrs to listen on. Default `['/ip4/127.0.0.1/tcp/0']` (loopback, any free port). */
  listen?: string[]
  /**
   * OrbitDB access controller factories (each with a static `type`) to register before anything
   * is opened. Registration is process-wide and idempotent. Default none.
   */
  accessControllers?: unknown[]
  /** OrbitDB database type factories (each with a static `type`), as for `accessControllers`. Default none. */
  databaseTypes?: unknown[]
  /** Aborts start-up (checked between steps; whatever was started is stopped again). */
  signal?: AbortSignal
  /** Bound on each part of `stop()`, in ms. Default 10 000. */
  stopTimeout?: number
  /** New inbound connections accepted per second from one address. Default 100. */
  inboundConnectionsPerSecond?: number
  /** The private IPMS DHT (a server, by default on) and mDNS (off by default): see discovery/dht.ts. */
  discovery?: DiscoveryOptions
  /**
   * Sync the last LevelDB write of each group of appends, so that a receipt's mail survives a
   * power cut (PROTOCOL.md §12.1). Default true. False only for a benchmark's baseline: a receipt
   * then survives kill -9 but not an OS crash.
   */
  durableWrites?: boolean
  /** Wait (bounded) for another process holding the home to let go. Default: fail at once. */
  lockWait?: HomeLockWait
  /** Connection limits for a node on the open internet (defaults: DEFAULT_CONNECTION_LIMITS, connection-guard.ts). */
  connections?: Partial<ConnectionLimits>
  /**
   * Run gossipsub as `services.pubsub`, for OrbitDB's built-in Sync (a database opened without
   * `sync: false`: the raw-OrbitDB baselines of the benchmarks). Default false: IPMS moves entries
   * over /ipms/sync, and gossipsub would cost every connection a stream each way and every node a
   * heartbeat a second, for no job (OrbitDB's Sync only reads `services.pubsub` when it starts).
   */
  pubsub?: boolean
}

/** A running node. Plain object; `stop()` releases everything, including the home. */
export interface IpmsNode {
  readonly identity: Identity
  /** The node's peer-id (= `identity.peerId`). */
  readonly peerId: string
  /** Absolute path of the home. */
  readonly home: string
  readonly libp2p: IpmsLibp2p
  readonly helia: IpmsHelia
  readonly orbitdb: OrbitDB
  /** The node's LevelDBs: durability, and the full-disk state ('full' and 'recovered' events). */
  readonly storage: StorageHealth
  /** The addresses the node listens on, each ending in `/p2p/<peer-id>`. */
  multiaddrs(): string[]
  /** Connect to a peer by multiaddr (with `/p2p/<peer-id>` to authenticate it). */
  dial(address: string, options?: { signal?: AbortSignal }): Promise<Connection>
  /**
   * Exempt a peer from the connection limits (the owner, a co-host, a granted host: they always
   * find room, and are never closed for being idle); `false` undoes it.
   */
  protect(peerId: string, on?: boolean): Promise<void>
  /** Stop OrbitDB, Helia, libp2p, the stores, and release the home. Idempotent; bounded in time. */
  stop(): Promise<void>
}

/** Registered by this module: type → factory (OrbitDB's registries are process-wide). */
const registeredAccessControllers = new Map<string, unknown>()
const registeredDatabaseTypes = new Map<string, unknown>()

/** Start a node on `options.home`. `HomeInUseError` if another node runs on that home. */
export async function createNode (options: CreateNodeOptions): Promise<IpmsNode> {
  const { identity, signal } = checkOptions(options)
  const listen = options.listen ?? [...DEFAULT_LISTEN]
  const stopTimeout = options.stopTimeout ?? DEFAULT_STOP_TIMEOUT_MS
  const home = resolve(options.home)
  throwIfAborted(signal)

  // Before anything is opened, so a database opened by address finds its AC and type.
  register(options.accessControllers ?? [], registeredAccessControllers, 'access controller', useAccessController)
  register(options.databaseTypes ?? [], registeredDatabaseTypes, 'database type', useDatabaseType)

  let lock: HomeLock
  try {
    await ensureHome(home)
    lock = await acquireHomeLock(home, options.lockWait)
  } catch (err) {
    throw asStorageFull(err, home)
  }
  // Undone in reverse order if start-up fails; at run time `stop()` does the same.
  const parts: Array<{ name: string, stop: () => Promise<void> }> = []
  let log: Logger | undefined
  const undo = async (): Promise<void> => {
    for (const part of [...parts].reverse()) await bounded(part.name, part.stop, stopTimeout, log)
    await lock.release()
  }

  try {
    const storage = createStorageHealth({ durable: options.durableWrites ?? true, home })
    parts.push({ name: 'storage health', stop: async () => { storage.close() } })
    const blockstore = new LevelBlockstore(join(home, HOME_BLOCKS_DIR))
    await openLevel(blockstore, home)
    parts.push({ name: 'blockstore', stop: async () => { await blockstore.close() } })
    const datastore = new LevelDatastore(join(home, HOME_DATASTORE_DIR))
    await openLevel(datastore, home)
    parts.push({ name: 'datastore', stop: async () => { await datastore.close() } })
    // Closed after OrbitDB (parts stop in reverse): an inbox's close leaves it open.
    const inboxDb = inboxLevel(join(home, HOME_INBOXES_DIR))
    await openLevel({ db: inboxDb }, home)
    parts.push({ name: 'inbox store', stop: async () => { await inboxDb.close() } })
    const inboxes = inboxStore(inboxDb)
    // Before OrbitDB opens any inbox: a home of the former layout is moved in, once.
    const migrated = await migrateInboxes(join(home, HOME_ORBITDB_DIR), inboxes, storage.durable)
    throwIfAborted(signal)

    const guard = connectionGuard(options.connections)
    const libp2p = await createLibp2p<IpmsServices>({
      privateKey: identity.privateKey,
      logger: quietLogger(),
      addresses: { listen },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionManager: {
        // libp2p's default (5 new connections per second from one address) would turn away a
        // host's senders behind one NAT, each of which connects with a fresh identity per mail.
        inboundConnectionThreshold: options.inboundConnectionsPerSecond ?? DEFAULT_INBOUND_CONNECTIONS_PER_SECOND,
        // Its other defaults (300 connections, 10 handshakes of 10 s, no idle timeout) let a
        // few hundred idle connections or ten silent sockets lock everyone out (connection-guard.ts).
        ...guard.managerOptions
      },
      connectionGater: guard.gater,
      services: {
        identify: identify(),
        // Publishing with no subscribed peer is normal (a lone replica), not an error.
        ...(options.pubsub === true ? { pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }) } : {}),
        ...discoveryServices(options.discovery ?? {})
      },
      peerDiscovery: discoveryModules(options.discovery ?? {}),
      start: false // Helia starts it
    })
    log = libp2p.logger.forComponent('ipms:node')
    if (libp2p.peerId.toString() !== identity.peerId) {
      throw new InvalidArgumentError(`libp2p derived peer-id ${libp2p.peerId.toString()} from the identity ${identity.peerId}`)
    }
    parts.push({ name: 'libp2p', stop: async () => { await libp2p.stop(); cancelAddressUpdate(libp2p) } })
    guard.start(libp2p)
    attachGuard(libp2p, guard)
    parts.push({ name: 'connection guard', stop: async () => { guard.stop() } })
    const stopDialling = dialDiscoveredPeers(libp2p, options.discovery ?? {})
    parts.push({ name: 'peer discovery', stop: async () => { stopDialling() } })

    // No trustless gateways, no HTTP routing: blocks come from connected peers over bitswap.
    const helia = await createHelia<IpmsLibp2p>({
      libp2p,
      blockstore,
      datastore,
      blockBrokers: [bitswap()],
      routers: [libp2pRouting(libp2p)]
    })
    parts.push({ name: 'helia', stop: async () => { await helia.stop() } })
    // Inboxes write their blocks and pins straight into these LevelDBs, many per batch.
    useLevelStores(helia, { blocks: blockstore.db, datastore: datastore.db, health: storage, inboxes })
    // Reopened after a full disk, as openLevel opened them (LevelDB's write errors are sticky).
    const untrack = [blockstore.db, datastore.db, inboxDb].map(db => storage.track(db, LEVEL_OPEN_OPTIONS))
    parts.push({ name: 'untrack stores', stop: async () => { for (const u of untrack) u() } })
    throwIfAborted(signal)

    // OrbitDB signs every log entry with its own Ed25519 key, kept in `<home>/orbitdb/keystore`
    // under the node's peer-id (stores/orbitdb/orbitdb-node.ts).
    const started = await startOrbitDB({ ipfs: helia, home, id: identity.peerId })
    const orbitdb = started.orbitdb
    parts.push({ name: 'orbitdb', stop: started.stop })
    throwIfAborted(signal)

    if (migrated.length > 0) log('moved the records of %d inboxes into %s', migrated.length, HOME_INBOXES_DIR)
    log('started %s on %s', identity.peerId, home)
    let stopping: Promise<void> | undefined
    const node: IpmsNode = {
      identity,
      peerId: identity.peerId,
      home,
      libp2p,
      helia,
      orbitdb,
      storage,
      multiaddrs: () => libp2p.getMultiaddrs().map(ma => withPeerId(ma, identity.peerId)),
      dial: async (address, dialOptions = {}) => {
        let ma: Multiaddr
        try {
          ma = multiaddr(address)
        } catch (err) {
          throw new InvalidArgumentError(`Not a multiaddr: ${JSON.stringify(address)}`, { cause: err })
        }
        return await libp2p.dial(ma, { signal: dialOptions.signal })
      },
      protect: guard.protect,
      stop: async () => {
        stopping ??= (async () => {
          log?.('stopping')
          await undo()
          log?.('stopped')
        })()
        return await stopping
      }
    }
    return Object.freeze(node)
  } catch (err) {
    await undo()
    // A LevelDB that cannot open for want of space (its log is replayed into a new table); a taken port.
    throw asListenError(asStorageFull(err, home))
  }
}

function checkOptions (options: CreateNodeOptions): { identity: Identity, signal: AbortSignal | undefined } {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('createNode needs an options object')
  if (typeof options.home !== 'string' || options.home === '') throw new InvalidArgumentError('createNode needs `home`, a directory path')
  const identity = options.identity
  if (typeof identity?.peerId !== 'string' || identity.privateKey?.type !== 'Ed25519') {
    throw new InvalidArgumentError('createNode needs `identity`, an Ed25519 Identity (see createIdentity / loadIdentity)')
  }
  if (options.listen !== undefined && (!Array.isArray(options.listen) || !options.listen.every(a => typeof a === 'string'))) {
    throw new InvalidArgumentError('`listen` must be an array of multiaddr strings')
  }
  checkListenAddrs(options.listen ?? [])
  if (options.stopTimeout !== undefined && !(Number.isFinite(options.stopTimeout) && options.stopTimeout > 0)) {
    throw new InvalidArgumentError('`stopTimeout` must be a positive number of milliseconds')
  }
  return { identity, signal: options.signal }
}

/** Register factories with OrbitDB once per type; a different factory for a known type is refused. */
function register (factories: unknown[], registered: Map<string, unknown>, kind: string, use: (factory: any) => void): void {
  if (!Array.isArray(factories)) throw new InvalidArgumentError(`The ${kind} factories must be an array`)
  for (const factory of factories) {
    const type = (factory as { type?: unknown } | null)?.type
    if (typeof factory !== 'function' || typeof type !== 'string' || type === '') {
      throw new InvalidArgumentError(`An OrbitDB ${kind} factory is a function with a static string \`type\``)
    }
    const known = registered.get(type)
    if (known === factory) continue
    if (known !== undefined) {
      throw new InvalidArgumentError(`Another OrbitDB ${kind} is already registered as '${type}' in this process`)
    }
    use(factory)
    registered.set(type, factory)
  }
}

/**
 * Open a LevelDB store; a LevelDB lock held elsewhere means the home is in use. The store's own
 * `open()` rewraps errors as `OpenFailedError(String(err))`, losing the `LEVEL_LOCKED` cause, so
 * the underlying Level is opened directly, with the options both stores use by default, and a
 * bound on the table files each keeps open (LevelDB's default, 1 000, would let the descriptors of
 * a large home grow past a host's limit: docs/ARCHITECTURE.md, stores).
 */
const LEVEL_OPEN_OPTIONS = Object.freeze({ createIfMissing: true, compression: false, maxOpenFiles: LEVEL_MAX_OPEN_FILES })

async function openLevel (store: { db: { open(options: typeof LEVEL_OPEN_OPTIONS): Promise<void> } }, home: string): Promise<void> {
  try {
    await store.db.open(LEVEL_OPEN_OPTIONS)
  } catch (err) {
    if (isLevelLocked(err)) {
      throw new HomeInUseError(`The IPMS home ${home} is in use: another node (in this or another process) holds its LevelDB lock. Stop that node first, or use another home.`, { cause: err })
    }
    throw err
  }
}

function isLevelLocked (err: unknown): boolean {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === 'LEVEL_LOCKED') return true
  }
  return false
}

/**
 * libp2p 3.3's address manager debounces a peer-store update by 1 s on every 'transport:close'
 * and never cancels it on stop (libp2p/dist/src/address-manager/index.js, constructor), which
 * keeps a stopped node's process alive for one more second. Cancel it, if the internals match.
 */
function cancelAddressUpdate (libp2p: IpmsLibp2p): void {
  const update = (libp2p as unknown as { components?: { addressManager?: { _updatePeerStoreAddresses?: { stop?: unknown } } } })
    .components?.addressManager?._updatePeerStoreAddresses
  if (typeof update?.stop === 'function') update.stop()
}

function withPeerId (ma: Multiaddr, peerId: string): string {
  const text = ma.toString()
  return text.endsWith(`/p2p/${peerId}`) ? text : `${text}/p2p/${peerId}`
}

function throwIfAborted (signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new AbortError('Node start-up was aborted', { cause: signal.reason })
}

/** Run one part of a shutdown; log and carry on if it throws or outlasts `timeout` ms. */
async function bounded (name: string, fn: () => Promise<void>, timeout: number, log: Logger | undefined): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<'timeout'>(resolve => { timer = setTimeout(() => { resolve('timeout') }, timeout) })
  try {
    const outcome = await Promise.race([fn().then(() => 'done' as const), expired])
    if (outcome === 'timeout') log?.error('stopping %s took over %d ms; continuing without it', name, timeout)
  } catch (err) {
    log?.error('stopping %s failed; continuing - %e', name, err)
  } finally {
    clearTimeout(timer)
  }
}
