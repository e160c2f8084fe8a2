/**
 * Floods for abuse tests and benchmarks, on loopback only: many idle libp2p connections with fresh
 * identities, and raw sockets that never finish a handshake. Linux routes all of 127.0.0.0/8 to
 * loopback, so a flood can come from many source addresses (`127.<a>.<b>.<c>`) and prefixes.
 */
import net from 'node:net'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { quietLogger } from '../../src/node/quiet-logger.ts'

/**
 * The source address of a flood's `i`-th connection: `addresses` addresses in turn (so that
 * parallel dials come from different ones), `perPrefix` of them per /24, from 127.<base>.0.1 on.
 */
export function floodAddress (i: number, addresses: number, perPrefix: number, base = 1): string {
  const address = i % addresses
  return `127.${base}.${Math.floor(address / perPrefix)}.${(address % perPrefix) + 1}`
}

/**
 * A fresh-identity libp2p node whose dials come from `localAddress` (a 127.x.y.z), dial-only. A
 * patient attacker's: it answers the host's identify and its connection monitor's pings.
 */
export async function nodeFrom (localAddress: string): Promise<Libp2p> {
  return await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    logger: quietLogger(),
    addresses: { listen: [] },
    // dialOpts go to net.connect as they are (its types leave out localAddress).
    transports: [tcp({ dialOpts: { localAddress } as Record<string, unknown> })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services: { identify: identify(), ping: ping() }
  })
}

export interface Flood {
  /** Connections the target accepted and keeps open. */
  open: () => number
  /** Dials the target refused. */
  refused: number
  stop: () => Promise<void>
}

/**
 * Open `count` idle connections to `target` (a multiaddr with /p2p), each from a fresh identity
 * and the source address `addressOf(i)`, `parallel` at a time. They open no stream of their own,
 * answer identify and ping, and stay open until `stop()`.
 */
export async function idleConnections (target: string, count: number, addressOf: (i: number) => string, parallel = 16): Promise<Flood> {
  const nodes: Libp2p[] = []
  let refused = 0
  let next = 0
  const one = async (i: number): Promise<void> => {
    const node = await nodeFrom(addressOf(i))
    nodes.push(node)
    try {
      await node.dial(multiaddr(target), { signal: AbortSignal.timeout(20_000) })
    } catch {
      refused++
    }
  }
  await Promise.all(Array.from({ length: parallel }, async () => { while (next < count) await one(next++) }))
  return {
    open: () => nodes.reduce((n, node) => n + node.getConnections().length, 0),
    get refused () { return refused },
    stop: async () => { await Promise.all(nodes.splice(0).map(async node => { await node.stop() })) }
  }
}

/** Open `count` raw TCP sockets to `host:port` from `localAddress` that never send a byte; resolves once all are connected. */
export async function silentSockets (host: string, port: number, count: number, localAddress: string): Promise<{ sockets: net.Socket[], stop: () => void }> {
  const sockets = await Promise.all(Array.from({ length: count }, async () => await new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect({ host, port, localAddress }, () => { resolve(socket) })
    socket.on('error', reject)
  })))
  for (const socket of sockets) socket.on('error', () => {})
  return { sockets, stop: () => { for (const socket of sockets) socket.destroy() } }
}
