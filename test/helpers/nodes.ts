/**
 * Multi-node test helpers: start IPMS nodes on temporary homes and connect them, on 127.0.0.1.
 *
 * ```ts
 * const a = await startTestNode()
 * const b = await startTestNode()
 * try {
 *   await connect(a.node, b.node)
 *   …
 * } finally {
 *   await Promise.all([a.cleanup(), b.cleanup()])
 * }
 * ```
 *
 * Watch out for: `connect` waits until both sides have identified each other (protocols known),
 * because bitswap, gossipsub and custom protocol topologies only act on identified peers. Waits are
 * bounded by an AbortSignal (default 10 s), never by sleeps.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createIdentity, type Identity } from '../../src/identity/index.ts'
import { createNode, type CreateNodeOptions, type IpmsNode } from '../../src/node/index.ts'
import { waitFor } from './wait.ts'

/** Default deadline of the helpers' waits, in ms. */
export const DEFAULT_WAIT_MS = 10_000

export interface TestNodeOptions extends Partial<Omit<CreateNodeOptions, 'identity' | 'home'>> {
  /** Default: a new random identity. */
  identity?: Identity
  /** Default: a new temporary directory, removed by `cleanup()`. A given home is kept. */
  home?: string
}

export interface TestNode {
  node: IpmsNode
  identity: Identity
  home: string
  /** Stop the node; remove the home if the helper created it. Idempotent. */
  cleanup(): Promise<void>
}

/** Make a temporary home (removed by the caller). */
export async function makeTempHome (prefix = 'ipms-test-'): Promise<string> {
  return await mkdtemp(join(tmpdir(), prefix))
}

/** Start a node on a temporary (or given) home with a new (or given) identity. */
export async function startTestNode (options: TestNodeOptions = {}): Promise<TestNode> {
  const identity = options.identity ?? await createIdentity()
  const ownHome = options.home === undefined
  const home = options.home ?? await makeTempHome()
  let node: IpmsNode
  try {
    node = await createNode({ ...options, home, identity })
  } catch (err) {
    if (ownHome) await rm(home, { recursive: true, force: true })
    throw err
  }
  let cleaning: Promise<void> | undefined
  return {
    node,
    identity,
    home,
    cleanup: async () => {
      cleaning ??= (async () => {
        await node.stop()
        if (ownHome) await rm(home, { recursive: true, force: true })
      })()
      await cleaning
    }
  }
}

/** Dial `b` from `a` and wait until each side has identified the other. */
export async function connect (a: IpmsNode, b: IpmsNode, options: { signal?: AbortSignal } = {}): Promise<void> {
  const signal = options.signal ?? AbortSignal.timeout(DEFAULT_WAIT_MS)
  const address = b.multiaddrs()[0]
  if (address === undefined) throw new Error(`${b.peerId} has no listen address`)
  await Promise.all([
    waitIdentified(a, b.peerId, signal),
    waitIdentified(b, a.peerId, signal),
    a.dial(address, { signal })
  ])
}

/** Resolve once `node` is connected to `peerId` and knows its protocols (identify ran). */
export async function waitIdentified (node: IpmsNode, peerId: string, signal: AbortSignal): Promise<void> {
  const done = async (): Promise<boolean> => {
    const connection = node.libp2p.getConnections().find(c => c.remotePeer.toString() === peerId)
    if (connection === undefined) return false
    const peer = await node.libp2p.peerStore.get(connection.remotePeer).catch(() => undefined)
    return (peer?.protocols.length ?? 0) > 0
  }
  await waitForEvent(node.libp2p, ['peer:identify', 'connection:open', 'peer:update'], done, signal)
}

/**
 * Resolve when `check()` is true: checked now and after each of `events` on `target`.
 * Rejects with the signal's reason when it aborts first.
 */
export async function waitForEvent (target: EventTarget, events: string[], check: () => boolean | Promise<boolean>, signal: AbortSignal): Promise<void> {
  await waitFor(events.map(event => [target, event]), check, signal)
}
