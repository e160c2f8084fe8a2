/**
 * The client's way to a host's event streams over libp2p (docs/PROTOCOL.md §15.2): HTTP/1.1 on
 * `/http/1.1` streams (`@libp2p/http`'s node:http Agent) to the host's multiaddrs, as an owner's
 * card lists them, from a dial-only libp2p node with a fresh identity (the owner proves who it is
 * in HTTP, with Peer ID Auth; the connection itself says nothing of it).
 *
 * Watch for (@libp2p/http 2.x): the Host header must be the host's peer-id as a base36 CID
 * (`k51…`), which is also the name the handshake signs; the service's middleware is not used here
 * (the handshake is client.ts's own, on any transport).
 */
import { request, type IncomingMessage } from 'node:http'
import { http, type HTTP } from '@libp2p/http'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { base36 } from 'multiformats/bases/base36'
import type { CardHost } from '../hosting/card.ts'
import { freshLibp2p } from '../node/sender.ts'
import { MAX_HEAD_BYTES, type HostTransport } from './client.ts'

/** The name a host is reached by over libp2p: its peer-id as a CIDv1 in base36 (`k51…`). */
export const libp2pHostname = (peer: string): string => peerIdFromString(peer).toCID().toString(base36)

/** HTTP over libp2p streams to a card's host; `close()` stops the client's libp2p node. */
export async function libp2pTransport (host: CardHost): Promise<HostTransport & { close: () => Promise<void> }> {
  const libp2p = await freshLibp2p<{ http: HTTP }>({ services: { http: http() } })
  const addrs = host.addrs.map(a => multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${host.peer}`))
  const agent = libp2p.services.http.agent(addrs)
  const hostname = libp2pHostname(host.peer)
  return {
    hostname,
    label: host.peer,
    get: async (path, headers, signal) => await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({ agent, path, method: 'GET', headers: { ...headers, host: hostname }, signal, maxHeaderSize: MAX_HEAD_BYTES }, resolve)
      req.on('error', reject)
      req.end()
    }),
    close: async () => {
      agent.destroy()
      await libp2p.stop()
    }
  }
}
