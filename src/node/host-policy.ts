/**
 * Host policy (DESIGN.md §3: retention, quotas and rates are host policy, applied at delivery and
 * in garbage collection, never in the inbox's rules). Sane defaults; a host's config may change any.
 */

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

/** Per-connection delivery counters, in fixed windows; entries of closed connections are dropped. */
export function createRateLimiter (policy: Pick<HostPolicy, 'deliveriesPerWindow' | 'rateWindowMs'>, now: () => number) {
  const windows = new Map<string, { start: number, count: number }>()
  return {
    /** Count one delivery on `connection`; false when it is over the limit. */
    take: (connection: string): boolean => {
      const time = now()
      let window = windows.get(connection)
      if (window === undefined || time - window.start >= policy.rateWindowMs) {
        window = { start: time, count: 0 }
        windows.set(connection, window)
      }
      window.count++
      return window.count <= policy.deliveriesPerWindow
    },
    forget: (connection: string): void => { windows.delete(connection) },
    /** Connections tracked (memory stays bounded by the open connections). */
    size: (): number => windows.size
  }
}
