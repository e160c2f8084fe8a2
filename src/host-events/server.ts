/**
 * A host's event streams for owners' phones (docs/PROTOCOL.md §15): `GET
 * /ipms/v1/inbox/<peer-id>/events` as Server-Sent Events of that owner's inbox on this host
 * (feed.ts), only to that owner, authenticated by Peer ID Auth (peer-id-auth.ts). One node:http
 * server answers both ways in: its own TCP listener (config `http`, plain HTTP) and libp2p
 * streams (libp2p.ts injects them as sockets), with the same checks in the same order:
 *
 *   socket: connections per address and in all ─▶ headers (size, count, time: node:http)
 *   ─▶ route and method ─▶ requests per address ─▶ Authorization (401 + challenge)
 *   ─▶ owner = the authenticated peer and kept here, else 404 (the same answer whether kept or not)
 *   ─▶ streams per owner and in all ─▶ the stream: replay after Last-Event-ID, live events, pings
 *
 * Nothing but bounded headers is read before the request is authenticated, and nothing an
 * unauthenticated request gets depends on which inboxes are kept here.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { once } from 'node:events'
import type { PrivateKey } from '@libp2p/interface'
import { sendJson } from '../api/respond.ts'
import { boundedMap } from '../util/bounded-map.ts'
import type { ErrorCode } from '../errors.ts'
import type { HostFeed, HostFeedItem } from './feed.ts'
import { peerIdAuthServer, type PeerIdAuthServer } from './peer-id-auth.ts'

/** The stream's path; the owner's peer-id is its third segment. */
export const EVENTS_PATH = /^\/ipms\/v1\/inbox\/([1-9A-HJ-NP-Za-km-z]{40,60})\/events$/
export const eventsPath = (owner: string): string => `/ipms/v1/inbox/${owner}/events`

/** The limits of a host's event streams (docs/PROTOCOL.md §15.4). */
export interface HostEventsLimits {
  /** Open connections from one IP address. Default 64 (owners behind one carrier NAT). */
  perAddress: number
  /** Open connections in all. Default 4,096. */
  connections: number
  /** Streams of one owner at once (a phone, a tablet, a laptop…). Default 4. */
  perOwner: number
  /** Streams in all. Default 2,048. */
  streams: number
  /** Requests from one IP address per minute (handshakes, reconnections). Default 120. */
  requestsPerMinute: number
  /** Longest request head (request line and headers), bytes. Default 8 KiB. */
  headerBytes: number
  /** Time to send the request head, ms. Default 10 s. */
  headersTimeoutMs: number
}

export const DEFAULT_LIMITS: Readonly<HostEventsLimits> = Object.freeze({
  perAddress: 64,
  connections: 4096,
  perOwner: 4,
  streams: 2048,
  requestsPerMinute: 120,
  headerBytes: 8 * 1024,
  headersTimeoutMs: 10_000
})

/** Addresses whose requests are counted at once (the oldest forgotten first). */
export const REQUEST_WINDOW_ADDRESSES = 65_536

/** A comment line this often keeps mobile networks from dropping an idle stream, ms. */
export const PING_MS = 20_000

export interface HostEventsOptions {
  feed: HostFeed
  /** The host's key (Peer ID Auth: it signs its answers). */
  privateKey: PrivateKey
  /** True when this host keeps `owner`'s inbox under a valid grant. */
  keeps: (owner: string) => boolean
  limits?: Partial<HostEventsLimits>
  pingMs?: number
  tokenTtlMs?: number
  now?: () => number
}

export interface HostEventsServer {
  /** The node:http server: listen on it (listen.ts), or give it libp2p streams (libp2p.ts). */
  server: Server
  /** Streams open now. */
  streams: () => number
  /** Stop: new connections refused, streams ended. */
  close: () => Promise<void>
}

/** The IP address of a socket: a TCP socket's own, or the one in a libp2p socket's remote multiaddr. */
export function addressOfSocket (socket: Socket): string {
  const remote = socket.remoteAddress ?? ''
  const ma = /^\/ip[46]\/([^/]+)\//.exec(remote)
  return (ma === null ? remote : ma[1]!).replace(/^::ffff:/, '')
}

const refuse = (res: ServerResponse, status: number, code: ErrorCode, message: string, headers: Record<string, string> = {}): void => {
  sendJson(res, status, { ok: false, error: { code, message } }, headers)
}

export function createHostEventsServer (options: HostEventsOptions): HostEventsServer {
  const limits: HostEventsLimits = { ...DEFAULT_LIMITS, ...options.limits }
  const now = options.now ?? Date.now
  const pingMs = options.pingMs ?? PING_MS
  const { feed } = options
  const auth: PeerIdAuthServer = peerIdAuthServer({ privateKey: options.privateKey, tokenTtlMs: options.tokenTtlMs, now })
  const server = createServer({
    maxHeaderSize: limits.headerBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.headersTimeoutMs + 5_000,
    keepAliveTimeout: 5_000,
    connectionsCheckingInterval: 1_000
  })
  server.maxHeadersCount = 32
  server.maxRequestsPerSocket = 64

  const connectionsOf = new Map<string, number>()
  let connections = 0
  server.on('connection', (socket: Socket) => {
    const address = addressOfSocket(socket)
    const count = connectionsOf.get(address) ?? 0
    if (count >= limits.perAddress || connections >= limits.connections) {
      socket.destroy()
      return
    }
    connectionsOf.set(address, count + 1)
    connections++
    socket.once('close', () => {
      connections--
      const left = (connectionsOf.get(address) ?? 1) - 1
      if (left <= 0) connectionsOf.delete(address)
      else connectionsOf.set(address, left)
    })
  })

  /** Requests per address in the current minute (fixed windows, cleared each minute; bounded, many addresses or not). */
  const newWindow = (): Map<string, number> => boundedMap(REQUEST_WINDOW_ADDRESSES)
  let requests = newWindow()
  const windows = setInterval(() => { requests = newWindow() }, 60_000)
  windows.unref()

  const streamsOf = new Map<string, number>()
  let streams = 0
  const stopping = new AbortController()

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '').split('?')[0]!
    const route = EVENTS_PATH.exec(path)
    if (route === null) return refuse(res, 404, 'ERR_NOT_FOUND', 'Nothing here: a host serves /ipms/v1/inbox/<peer-id>/events')
    if (req.method !== 'GET' && req.method !== 'OPTIONS') return refuse(res, 405, 'ERR_METHOD_NOT_ALLOWED', 'Only GET (and OPTIONS, for authentication) here', { Allow: 'GET, OPTIONS' })
    const address = addressOfSocket(req.socket)
    const made = (requests.get(address) ?? 0) + 1
    requests.set(address, made)
    if (made > limits.requestsPerMinute) return refuse(res, 429, 'ERR_RATE_LIMITED', `Over ${limits.requestsPerMinute} requests a minute from your address: wait a minute`, { 'Retry-After': '60' })
    const hostname = req.headers.host ?? ''
    if (hostname === '' || hostname.length > 255) return refuse(res, 400, 'ERR_MALFORMED', 'A request needs a Host header (at most 255 characters)')
    const outcome = await auth.check(req.headers.authorization, hostname)
    if ('challenge' in outcome) {
      return refuse(res, 401, 'ERR_UNAUTHORIZED', 'Prove your peer-id (libp2p Peer ID Authentication): answer the challenge in WWW-Authenticate', {
        'WWW-Authenticate': outcome.challenge,
        'Access-Control-Expose-Headers': 'WWW-Authenticate'
      })
    }
    const infoHeaders: Record<string, string> = outcome.info === undefined ? {} : { 'Authentication-Info': outcome.info, 'Access-Control-Expose-Headers': 'Authentication-Info' }
    const owner = route[1]!
    // One answer for "not yours" and "not kept here": a peer learns nothing of others' inboxes.
    if (outcome.peer !== owner || !options.keeps(owner)) {
      return refuse(res, 404, 'ERR_NOT_FOUND', 'No event stream for you here: a host streams only its owner\'s inbox, to that owner, while it keeps it', infoHeaders)
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...infoHeaders, Allow: 'GET, OPTIONS' })
      res.end()
      return
    }
    const ownerStreams = streamsOf.get(owner) ?? 0
    if (ownerStreams >= limits.perOwner) return refuse(res, 429, 'ERR_RATE_LIMITED', `${limits.perOwner} streams of your inbox are open here already: close one`, infoHeaders)
    if (streams >= limits.streams) return refuse(res, 503, 'ERR_RATE_LIMITED', 'This host serves as many event streams as it can: try again later', { ...infoHeaders, 'Retry-After': '30' })
    const lastEventId = req.headers['last-event-id']
    const since = typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId.slice(0, 64) : undefined
    streamsOf.set(owner, ownerStreams + 1)
    streams++
    try {
      await stream(res, owner, since, outcome.expires, infoHeaders)
    } finally {
      streams--
      const left = (streamsOf.get(owner) ?? 1) - 1
      if (left <= 0) streamsOf.delete(owner)
      else streamsOf.set(owner, left)
    }
  }

  /** The owner's events until the client goes, its token expires, or the server closes. */
  const stream = async (res: ServerResponse, owner: string, since: string | undefined, expires: number, headers: Record<string, string>): Promise<void> => {
    const gone = new AbortController()
    const signal = AbortSignal.any([gone.signal, stopping.signal])
    res.on('close', () => { gone.abort() })
    res.writeHead(200, { ...headers, 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'X-Accel-Buffering': 'no' })
    // The socket goes quiet between events: no idle timeout of node:http may cut it.
    res.socket?.setTimeout(0)
    res.write(': ipms host events\n\n')
    const ping = setInterval(() => { if (!res.writableNeedDrain) res.write(': ping\n\n') }, pingMs)
    // A stream lives as long as the token it was opened with: the client authenticates again.
    const expiry = setTimeout(() => { gone.abort() }, Math.max(0, expires - now()))
    try {
      for await (const item of feed.subscribe(owner, { since, signal })) {
        if (!res.write(frame(item))) await once(res, 'drain', { signal }).catch(() => {})
        if (signal.aborted) break
      }
    } finally {
      clearInterval(ping)
      clearTimeout(expiry)
      if (!res.writableEnded) res.end()
    }
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    serve(req, res).catch(() => {
      if (!res.headersSent) refuse(res, 500, 'ERR_UNEXPECTED', 'The host failed to answer: try again')
      else res.destroy()
    })
  })

  return {
    server,
    streams: () => streams,
    close: async () => {
      clearInterval(windows)
      stopping.abort()
      const closed = new Promise<void>(resolve => { server.close(() => { resolve() }) })
      server.closeIdleConnections()
      // Streams end with the abort above; what is left is cut.
      setTimeout(() => { server.closeAllConnections() }, 1_000).unref()
      await closed
    }
  }
}

/** One feed item as an SSE frame. */
export function frame (item: HostFeedItem): string {
  if ('reset' in item) return `id: ${item.last}\nevent: reset\ndata: ${JSON.stringify({ last: item.last })}\n\n`
  return `id: ${item.id}\nevent: ${item.type}\ndata: ${JSON.stringify(item.data)}\n\n`
}

/** Listen on "host:port" (port 0: any free one); the URL clients use (http://host:port). */
export async function listenHostEvents (events: HostEventsServer, listen: { host: string, port: number }): Promise<string> {
  const { server } = events
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(listen.port, listen.host, () => { server.off('error', reject); resolve() })
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : listen.port
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host
  return `http://${host}:${port}`
}
