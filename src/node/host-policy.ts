/**
 * Host policy (docs/DESIGN.md §3: retention, quotas and rates are host policy, applied at delivery and
 * in garbage collection, never in the inbox's rules). Sane defaults; a host's config may change any.
 * Also the limits of a host on the open internet (PROTOCOL §12.2): delivery rates per connection,
 * per remote address and per /24 or /48, and the bytes buffered for unauthenticated frames.
 */
import { tryGetNetConfig } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface HostPolicy {
  /** Unpruned mail older than this is dropped from this host, ms. Default 30 days. */
  retentionMs: number
  /** Bytes of pending envelopes one inbox may hold here. Default 256 MiB. */
  quotaBytes: number
  /** Deliveries one connection may make per `rateWindowMs`. Default 60. */
  deliveriesPerWindow: number
  /** The rate window, ms. Default 60 000. */
  rateWindowMs: number
  /** How far a MAIL's `ts` may be from this host's clock, ms. Default 1 day. */
  maxClockSkewMs: number
  /** Bytes one contact's pass may hold in one inbox here, apart from `quotaBytes` (docs/PROTOCOL.md §11.3). Default 32 MiB. */
  passQuotaBytes: number
  /** Bytes all the passes of one inbox may hold here together. Default 256 MiB. */
  passesQuotaBytes: number
}

export const DEFAULT_HOST_POLICY: Readonly<HostPolicy> = Object.freeze({
  retentionMs: 30 * 24 * 60 * 60_000,
  quotaBytes: 256 * 1024 * 1024,
  deliveriesPerWindow: 60,
  rateWindowMs: 60_000,
  maxClockSkewMs: 24 * 60 * 60_000,
  passQuotaBytes: 32 * 1024 * 1024,
  passesQuotaBytes: 256 * 1024 * 1024
})

/** How many times the per-connection rate one remote address, and one /24 (IPv4) or /48 (IPv6), may use. */
export const ADDRESS_RATE_FACTOR = 5
export const PREFIX_RATE_FACTOR = 10
/** Rate windows kept at most (connections, addresses, prefixes); expired ones go first. */
export const MAX_RATE_WINDOWS = 16_384

/** Where a stream comes from: its connection and the remote IP address, as libp2p gives them. */
export interface StreamOrigin {
  /** The connection's id. */
  id: string
  remoteAddr: Multiaddr
}

/** Which limit a request went over. */
export type RateScope = 'connection' | 'address' | 'prefix'

/**
 * The remote IP address of a connection and its network prefix (a /24 for IPv4, a /48 for IPv6,
 * what one site usually holds), or undefined for a connection without one (a relay, a socket).
 * IPv4-mapped IPv6 addresses count as IPv4. Never throws.
 */
export function addressOf (remoteAddr: Multiaddr): { address: string, prefix: string } | undefined {
  let config
  try { config = tryGetNetConfig(remoteAddr) } catch { return undefined }
  if (config?.type === 'ip4') return { address: config.host, prefix: `${config.host.split('.').slice(0, 3).join('.')}.0/24` }
  if (config?.type !== 'ip6') return undefined
  const host = config.host.toLowerCase()
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host)
  if (mapped !== null) return { address: mapped[1]!, prefix: `${mapped[1]!.split('.').slice(0, 3).join('.')}.0/24` }
  const [head = '', tail] = host.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  return { address: host, prefix: `${groups.slice(0, 3).map(g => g.replace(/^0+(?=.)/, '')).join(':')}::/48` }
}

/**
 * Delivery counters in fixed windows, per connection, per remote address and per prefix, in one
 * bounded map: a sender with many fresh identities (one connection each) from one address or one
 * site shares its address's and its prefix's budget. Entries of closed connections are dropped;
 * address and prefix windows expire, and past MAX_RATE_WINDOWS the oldest go.
 */
export function createRateLimiter (policy: Pick<HostPolicy, 'deliveriesPerWindow' | 'rateWindowMs'>, now: () => number) {
  const windows = new Map<string, { start: number, count: number }>()
  const limits: Record<RateScope, number> = {
    connection: policy.deliveriesPerWindow,
    address: policy.deliveriesPerWindow * ADDRESS_RATE_FACTOR,
    prefix: policy.deliveriesPerWindow * PREFIX_RATE_FACTOR
  }
  /** The window of `key` at `time` (a new one once the last has run out). */
  const windowOf = (key: string, time: number): { start: number, count: number } => {
    let window = windows.get(key)
    if (window === undefined || time - window.start >= policy.rateWindowMs) {
      windows.delete(key) // re-inserted last: the map stays in order of window start
      window = { start: time, count: 0 }
      windows.set(key, window)
    }
    return window
  }
  const trim = (time: number): void => {
    if (windows.size <= MAX_RATE_WINDOWS) return
    for (const [key, window] of windows) {
      if (windows.size <= MAX_RATE_WINDOWS) return
      if (time - window.start >= policy.rateWindowMs || !key.startsWith('c ')) windows.delete(key)
    }
  }
  return {
    /** Limits of each scope per window. */
    limits: Object.freeze({ ...limits }),
    /** Count one delivery from `origin`; the scope it would go over (then it is not counted), or undefined when within every limit. */
    take: (origin: StreamOrigin): RateScope | undefined => {
      const time = now()
      const net = addressOf(origin.remoteAddr)
      const scopes: Array<[RateScope, string]> = [['connection', `c ${origin.id}`]]
      if (net !== undefined) scopes.push(['address', `a ${net.address}`], ['prefix', `p ${net.prefix}`])
      const counted = scopes.map(([scope, key]) => [scope, windowOf(key, time)] as const)
      trim(time)
      // A refused delivery counts nowhere: one over its address's limit spends nothing of its prefix's.
      const over = counted.find(([scope, window]) => window.count >= limits[scope])
      if (over !== undefined) return over[0]
      for (const [, window] of counted) window.count++
      return undefined
    },
    forget: (connection: string): void => { windows.delete(`c ${connection}`) },
    /** Connections tracked (memory stays bounded by the open connections). */
    size: (): number => { let n = 0; for (const key of windows.keys()) if (key.startsWith('c ')) n++; return n }
  }
}

/** Bytes of unauthenticated frames one remote address may have buffered at once here. */
export const MAX_BUFFERED_PER_ADDRESS = 16 * 1024 * 1024
/** Bytes of unauthenticated frames this node buffers at once, from everyone (8 maximum envelopes). */
export const MAX_BUFFERED_TOTAL = 32 * 1024 * 1024

/**
 * A budget of bytes for frames from peers that have not authenticated (a deliver request, a sync
 * hello): a frame's declared length is reserved before its body is read, per remote address and in
 * all, and given back when its stream closes. A frame that does not fit is refused unread.
 */
export function createFrameBudget (limits: { perAddress: number, total: number } = { perAddress: MAX_BUFFERED_PER_ADDRESS, total: MAX_BUFFERED_TOTAL }) {
  const byAddress = new Map<string, number>()
  let total = 0
  return {
    /**
     * Reserve `bytes` for a frame from `remoteAddr`: the function that gives them back (call it
     * once), or undefined when they do not fit.
     */
    reserve: (remoteAddr: Multiaddr, bytes: number): (() => void) | undefined => {
      const key = addressOf(remoteAddr)?.address ?? remoteAddr.toString()
      const held = byAddress.get(key) ?? 0
      if (held + bytes > limits.perAddress || total + bytes > limits.total) return undefined
      byAddress.set(key, held + bytes)
      total += bytes
      let released = false
      return () => {
        if (released) return
        released = true
        total -= bytes
        const left = (byAddress.get(key) ?? 0) - bytes
        if (left > 0) byAddress.set(key, left)
        else byAddress.delete(key)
      }
    },
    /** Bytes reserved now. */
    held: (): number => total
  }
}
