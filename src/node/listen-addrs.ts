/**
 * Where a node listens (`listen` in config.json, `ipms daemon --listen`): checked before anything
 * opens, and a refusal of the system (a taken port) said plainly instead of libp2p's "Some
 * configured addresses failed to be listened on" with a stack trace.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { InvalidArgumentError, ListenError } from '../errors.ts'

/** IPMS listens on TCP only: the hosts' address lists say /ip4|ip6|dns…/tcp/N. */
const TCP_LISTEN = /^\/(ip4|ip6|dns|dns4|dns6)\/[^/]+\/tcp\/\d{1,5}(\/p2p\/\w+)?$/

/** Each address a multiaddr this node can listen on; InvalidArgumentError naming the first that is not. */
export function checkListenAddrs (addrs: readonly string[]): void {
  for (const text of addrs) {
    try {
      multiaddr(text)
    } catch {
      throw new InvalidArgumentError(`Cannot listen on ${JSON.stringify(text.slice(0, 200))}: it is not a multiaddr (example: /ip4/0.0.0.0/tcp/4100)`)
    }
    const port = Number(/\/tcp\/(\d+)/.exec(text)?.[1] ?? -1)
    if (!TCP_LISTEN.test(text) || port > 65_535) {
      throw new InvalidArgumentError(`Cannot listen on ${text}: IPMS listens on TCP, as /ip4/<address>/tcp/<port 0-65535> (example: /ip4/0.0.0.0/tcp/4100; port 0: any free port)`)
    }
  }
}

/** What the system said, by errno, and what to do about it. */
const REASONS: Array<[RegExp, string]> = [
  [/EADDRINUSE/, 'the port is taken (by another ipms daemon, or another program: ss -ltnp shows which). Choose another port with --listen or "listen" in config.json, or stop what holds it'],
  [/EACCES/, 'the system reserves that port (below 1024 needs privileges). Choose a port from 1024 up'],
  [/EADDRNOTAVAIL/, 'that address is not one of this machine\'s. Listen on 0.0.0.0 (every interface) or on an address ip addr lists']
]

/** libp2p's failure to listen as a ListenError naming the address and the fix; anything else unchanged. */
export function asListenError (err: unknown): unknown {
  if (!(err instanceof Error) || err.name !== 'UnsupportedListenAddressesError') return err
  const failed = [...err.message.matchAll(/^\s+(\/\S+): (.*)$/gm)].map(([, address, cause]) => {
    const reason = REASONS.find(([pattern]) => pattern.test(cause!))?.[1] ?? `the system refused it (${cause!.slice(0, 200)})`
    return `${address}: ${reason}`
  })
  return new ListenError(`Cannot listen on ${failed.length === 0 ? 'the addresses given' : failed.join('; ')}`, { cause: err })
}
