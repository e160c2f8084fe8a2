/**
 * A host's event streams, started on a running home node (docs/PROTOCOL.md §15): the feed of every
 * kept inbox (feed.ts), the HTTP handlers (server.ts), on a TCP listener when config `http` says so,
 * and over libp2p streams (libp2p.ts) on the node itself.
 *
 * ```ts
 * const events = await startHostEvents({ node: running.node, hosting: running.hosting, http: config.http })
 * events.url // http://0.0.0.0:8443, when listening
 * await events.close()
 * ```
 */
import { parseHttpListen } from '../home/config.ts'
import type { IpmsNode } from '../node/create-node.ts'
import type { Hosting } from '../node/hosting.ts'
import { createHostFeed, type HostFeed } from './feed.ts'
import { createHostEventsServer, listenHostEvents, type HostEventsLimits } from './server.ts'
import { serveOverLibp2p } from './libp2p.ts'

export interface HostEventsStartOptions {
  node: IpmsNode
  hosting: Pick<Hosting, 'events' | 'opened' | 'list'>
  /** "host:port" for plain HTTP (config `http`); default none. */
  http?: string
  /** Serve over libp2p streams (`/http/1.1`). Default true. */
  libp2p?: boolean
  limits?: Partial<HostEventsLimits>
  pingMs?: number
  tokenTtlMs?: number
}

export interface HostEvents {
  feed: HostFeed
  /** Where plain HTTP is served (http://host:port), when it is. */
  url?: string
  streams: () => number
  close: () => Promise<void>
}

/** How long the set of owners kept here is reused before hosting is asked again, ms. */
const KEPT_OWNERS_REFRESH_MS = 1_000

export async function startHostEvents (options: HostEventsStartOptions): Promise<HostEvents> {
  const { node, hosting } = options
  const listen = options.http === undefined ? undefined : parseHttpListen(options.http, 'config.json')
  const feed = createHostFeed()
  const unfollow = feed.follow(hosting)
  // Only authenticated owners ask, and a new grant may come at any time: read at most once a second.
  let kept = new Set<string>()
  let keptAt = -Infinity
  const keeps = (owner: string): boolean => {
    if (Date.now() - keptAt > KEPT_OWNERS_REFRESH_MS || !kept.has(owner)) {
      kept = new Set(hosting.list().flatMap(h => h.expired ? [] : [h.owner]))
      keptAt = Date.now()
    }
    return kept.has(owner)
  }
  const events = createHostEventsServer({ feed, privateKey: node.identity.privateKey, keeps, limits: options.limits, pingMs: options.pingMs, tokenTtlMs: options.tokenTtlMs })
  const undo: Array<() => Promise<void>> = [async () => { unfollow(); feed.close() }, async () => { await events.close() }]
  const close = async (): Promise<void> => { for (const step of undo.splice(0).reverse()) await step().catch(() => {}) }
  try {
    const url = listen === undefined ? undefined : await listenHostEvents(events, listen)
    if (options.libp2p !== false) {
      const stop = await serveOverLibp2p(node.libp2p, events.server)
      undo.push(stop)
    }
    return { feed, ...(url === undefined ? {} : { url }), streams: events.streams, close }
  } catch (err) {
    await close()
    throw err
  }
}
