/**
 * Connection limits of a node on the open internet (docs/PROTOCOL.md §12.2): what libp2p 3 does
 * not do by itself. A connection gater and a sweep that together
 * - bound handshakes in progress per remote address (raw sockets that never finish one),
 * - bound the open connections of strangers per remote address, per /24 (IPv4) or /48 (IPv6),
 *   and in all, keeping `reservedConnections` free for protected peers,
 * - make room for a newcomer by closing the stranger connection idle the longest, and close any
 *   stranger connection idle for `idleTimeoutMs`,
 * - refuse, before any handshake, new connections from an address whose stranger went over a
 *   delivery rate (`penalize`, called by the deliver service), for the rest of the rate window.
 * "Protected" peers (the owner, co-hosts, granted hosts: `protect()`) are never limited, evicted
 * or reaped, and are tagged in the peer store so that libp2p's own pruner keeps them last.
 * A connection is idle while it carries no stream but those libp2p and pubsub keep open by
 * themselves (identify, ping, gossipsub), which a peer can hold without sending anything.
 *
 * ```ts
 * const guard = connectionGuard(limits)
 * const libp2p = await createLibp2p({ connectionGater: guard.gater, connectionManager: guard.managerOptions, … })
 * guard.start(libp2p) … guard.protect(ownerPeerId) … guard.stop()
 * ```
 */
import type { Connection, ConnectionGater, Libp2p, MultiaddrConnection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { addressOf } from './host-policy.ts'

export interface ConnectionLimits {
  /** Connections open at once, all peers (libp2p's `maxConnections`). Default 512. */
  maxConnections: number
  /** Of those, kept for protected peers: strangers get the rest. Default 64. */
  reservedConnections: number
  /** Inbound connections of strangers open at once from one IP address. Default 64. */
  maxConnectionsPerAddress: number
  /** Inbound connections of strangers open at once from one /24 or /48. Default 256. */
  maxConnectionsPerPrefix: number
  /** Handshakes in progress at once, all addresses (libp2p's default is 10). Default 128. */
  maxPendingConnections: number
  /** Handshakes in progress at once from one IP address. Default 4. */
  maxPendingPerAddress: number
  /** Time a new inbound connection has to finish its handshake (libp2p's default is 10 s), ms. Default 3 000. */
  handshakeTimeoutMs: number
  /** A stranger's connection idle this long is closed, ms. Default 30 000. */
  idleTimeoutMs: number
  /** A stranger's connection idle this long may be closed to make room for a newcomer, ms. Default 1 000. */
  evictAfterMs: number
}

export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = Object.freeze({
  maxConnections: 512,
  reservedConnections: 64,
  maxConnectionsPerAddress: 64,
  maxConnectionsPerPrefix: 256,
  maxPendingConnections: 128,
  maxPendingPerAddress: 4,
  handshakeTimeoutMs: 3_000,
  idleTimeoutMs: 30_000,
  evictAfterMs: 1_000
})

/** Addresses in the penalty box at most (expired ones go first). */
const MAX_PENALTIES = 65_536

/** Peer-store tag of protected peers (its value also ranks them last in libp2p's pruning). */
export const PROTECTED_TAG = 'ipms-protected'

/** Streams that do not make a connection active: opened by libp2p or pubsub on their own. */
const IDLE_PROTOCOLS = ['/ipfs/id/', '/ipfs/ping/', '/meshsub/', '/floodsub/']
const isIdleStream = (protocol: string | undefined): boolean =>
  protocol === undefined || protocol === '' || IDLE_PROTOCOLS.some(prefix => protocol.startsWith(prefix))

export function connectionGuard (options: Partial<ConnectionLimits> = {}) {
  const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...options }
  const protectedPeers = new Set<string>()
  /** Connection id → when it was last seen carrying an active stream (or opened), ms. */
  const active = new Map<string, number>()
  /** Remote address → until when its new connections are refused, ms (see `penalize`). */
  const penalties = new Map<string, number>()
  /** Handshakes in progress, as the gater saw them. */
  const pending = new Set<MultiaddrConnection>()
  /** Strangers admitted after their handshake, not yet listed by libp2p: peer → address, deadline. */
  const admitting = new Map<string, { addr: Multiaddr, until: number }>()
  const onOpen = (event: CustomEvent<Connection>): void => { admitting.delete(event.detail.remotePeer.toString()) }
  let libp2p: Libp2p | undefined
  let timer: NodeJS.Timeout | undefined

  const isProtected = (peer: PeerId | string): boolean => protectedPeers.has(peer.toString())
  const strangers = (): Connection[] => (libp2p?.getConnections() ?? [])
    .filter(c => c.direction === 'inbound' && c.status === 'open' && !isProtected(c.remotePeer))

  /** When `connection` was last active: now if it carries an active stream. */
  const lastActive = (connection: Connection, now: number): number => {
    if (connection.streams.some(s => !isIdleStream(s.protocol))) active.set(connection.id, now)
    return active.get(connection.id) ?? connection.timeline.open
  }

  const close = (connection: Connection): void => {
    active.delete(connection.id)
    void connection.close({ signal: AbortSignal.timeout(1_000) }).catch(err => { connection.abort(err as Error) })
  }

  /** Close the stranger connection idle the longest, if one has been idle `evictAfterMs`; true if one was. */
  const evictIdle = (among: Connection[]): boolean => {
    const now = Date.now()
    let oldest: Connection | undefined
    let since = now - limits.evictAfterMs
    for (const connection of among) {
      const last = lastActive(connection, now)
      if (last <= since) { oldest = connection; since = last }
    }
    if (oldest === undefined) return false
    close(oldest)
    return true
  }

  const sweep = (): void => {
    const now = Date.now()
    const open = new Set<string>()
    for (const connection of libp2p?.getConnections() ?? []) {
      open.add(connection.id)
      const last = lastActive(connection, now)
      if (connection.direction === 'inbound' && connection.status === 'open' && !isProtected(connection.remotePeer) && now - last >= limits.idleTimeoutMs) close(connection)
    }
    for (const id of active.keys()) if (!open.has(id)) active.delete(id)
  }

  const gater: ConnectionGater = {
    denyInboundConnection: (maConn: MultiaddrConnection): boolean => {
      for (const other of pending) if (other.status !== 'open') pending.delete(other)
      const address = addressOf(maConn.remoteAddr)?.address
      if (address !== undefined) {
        const until = penalties.get(address)
        if (until !== undefined && until > Date.now()) return true
        if (until !== undefined) penalties.delete(address)
        let fromThere = 0
        for (const other of pending) if (addressOf(other.remoteAddr)?.address === address) fromThere++
        if (fromThere >= limits.maxPendingPerAddress) return true
      }
      pending.add(maConn)
      return false
    },
    denyInboundEncryptedConnection: (peer: PeerId, maConn: MultiaddrConnection): boolean => {
      pending.delete(maConn)
      if (isProtected(peer)) return false
      // Admitted connections count from here, not only once libp2p lists them (after the muxer):
      // handshakes that end together must not all pass one free place.
      const now = Date.now()
      for (const [key, { until }] of admitting) if (until < now) admitting.delete(key)
      const all = strangers()
      const net = addressOf(maConn.remoteAddr)
      const within = (connections: Connection[], limit: number, same: (addr: Multiaddr) => boolean): boolean => {
        let admitted = 0
        for (const { addr } of admitting.values()) if (same(addr)) admitted++
        return connections.length + admitted < limit || (admitted < limit && evictIdle(connections))
      }
      let allowed = true
      if (net !== undefined) {
        allowed = within(all.filter(c => addressOf(c.remoteAddr)?.address === net.address), limits.maxConnectionsPerAddress, a => addressOf(a)?.address === net.address) &&
          within(all.filter(c => addressOf(c.remoteAddr)?.prefix === net.prefix), limits.maxConnectionsPerPrefix, a => addressOf(a)?.prefix === net.prefix)
      }
      allowed &&= within(all, limits.maxConnections - limits.reservedConnections, () => true)
      if (allowed) admitting.set(peer.toString(), { addr: maConn.remoteAddr, until: now + limits.handshakeTimeoutMs })
      return !allowed
    }
  }

  return {
    limits: Object.freeze({ ...limits }),
    gater,
    /** The part of libp2p's connection manager options these limits set. */
    managerOptions: {
      maxConnections: limits.maxConnections,
      maxIncomingPendingConnections: limits.maxPendingConnections,
      inboundUpgradeTimeout: limits.handshakeTimeoutMs
    },
    start: (node: Libp2p): void => {
      libp2p = node
      node.addEventListener('connection:open', onOpen)
      timer = setInterval(sweep, Math.max(100, Math.min(limits.idleTimeoutMs, limits.evictAfterMs * 4) / 4))
      timer.unref()
    },
    stop: (): void => {
      libp2p?.removeEventListener('connection:open', onOpen)
      clearInterval(timer)
      timer = undefined
      active.clear()
      pending.clear()
      admitting.clear()
      penalties.clear()
    },
    /** Exempt `peer` from every limit here (the owner, a co-host, a granted host); `false` undoes it. */
    protect: async (peer: string, on = true): Promise<void> => {
      if (on) protectedPeers.add(peer)
      else protectedPeers.delete(peer)
      await libp2p?.peerStore.merge(peerIdFromString(peer), { tags: { [PROTECTED_TAG]: on ? { value: 100 } : undefined } })
    },
    isProtected: (peer: string): boolean => protectedPeers.has(peer),
    /** Close `connection` (a stranger's) and refuse new connections from its address for `ms`. */
    penalize: (connection: Connection, ms: number): void => {
      if (isProtected(connection.remotePeer)) return
      const address = addressOf(connection.remoteAddr)?.address
      if (address !== undefined) {
        penalties.set(address, Date.now() + ms)
        if (penalties.size > MAX_PENALTIES) for (const [key, until] of penalties) if (until < Date.now() || penalties.size > MAX_PENALTIES) penalties.delete(key)
      }
      close(connection)
    }
  }
}

export type ConnectionGuard = ReturnType<typeof connectionGuard>

/** The guard of each libp2p node made by createNode, for services that only hold the libp2p. */
const guards = new WeakMap<object, ConnectionGuard>()

/** Make `guard` the one `penalize` finds for `libp2p`. */
export function attachGuard (libp2p: Libp2p, guard: ConnectionGuard): void {
  guards.set(libp2p, guard)
}

/**
 * A stranger went over a rate limit: close `connection`, and refuse new connections from its
 * address for `ms` (before their handshake, the cheapest refusal there is). No-op for a protected
 * peer or a node without a guard.
 */
export function penalize (libp2p: Libp2p, connection: Connection, ms: number): void {
  guards.get(libp2p)?.penalize(connection, ms)
}
