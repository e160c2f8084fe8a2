/**
 * A host with its event streams on 127.0.0.1 (src/host-events/), and clients of them: a real home
 * node (hosting, delivery, sync), plain HTTP on port 0, a grant accepted for an owner, and mail
 * delivered to it by a sender with the sender's own fresh identity, as in real use.
 */
import { rm } from 'node:fs/promises'
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http'
import { parseConfig } from '../../src/home/config.ts'
import { createCard, type AddressCard } from '../../src/hosting/card.ts'
import { createGrant, encodeGrant } from '../../src/hosting/grant.ts'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { startHomeNode, type HomeNode } from '../../src/node/home-node.ts'
import { sendMail } from '../../src/node/send-mail.ts'
import { startHostEvents, type HostEvents, type HostEventsStartOptions } from '../../src/host-events/host.ts'
import { httpTransport, type HostTransport } from '../../src/host-events/client.ts'
import { makeTempHome } from './nodes.ts'

export const BITS = 8

export interface EventsHost {
  running: HomeNode
  events: HostEvents
  url: string
  peerId: string
  /** Keep `owner`'s inbox here (a grant accepted). */
  accept: (owner: Identity) => Promise<void>
  /** The owner's card naming this host. */
  card: (owner: Identity) => AddressCard
  /** Deliver a mail to `owner` through this host; the entry hash of its receipt. */
  deliver: (owner: Identity, body: string, from?: Identity) => Promise<string>
  stop: () => Promise<void>
}

export async function startEventsHost (options: Partial<Omit<HostEventsStartOptions, 'node' | 'hosting'>> = {}): Promise<EventsHost> {
  const home = await makeTempHome('ipms-host-events-')
  const identity = await createIdentity()
  const running = await startHomeNode({ home, identity, config: parseConfig({ dht: false }) })
  const events = await startHostEvents({ node: running.node, hosting: running.hosting, http: '127.0.0.1:0', ...options })
  const sender = await createIdentity()
  const card = (owner: Identity): AddressCard => createCard(owner, [{ peer: identity.peerId, addrs: running.node.multiaddrs().map(a => a.replace(/\/p2p\/[^/]+$/, '')) }], BITS)
  return {
    running,
    events,
    url: events.url!,
    peerId: identity.peerId,
    accept: async owner => { await running.hosting.accept(encodeGrant(createGrant(owner, identity.peerId)), { bits: BITS }) },
    card,
    deliver: async (owner, body, from = sender) => (await sendMail({ body }, { from, card: card(owner) })).receipts[0]!.entry,
    stop: async () => {
      await events.close()
      await running.stop()
      await rm(home, { recursive: true, force: true })
    }
  }
}

/** A transport that the test can cut (every open response) and hold (requests wait for `release`). */
export function cuttableTransport (url: string): HostTransport & { cut: () => void, hold: () => void, release: () => void, requests: Array<OutgoingHttpHeaders> } {
  const inner = httpTransport(url)
  const open = new Set<IncomingMessage>()
  let gate: Promise<void> | undefined
  let open_: (() => void) | undefined
  const requests: OutgoingHttpHeaders[] = []
  return {
    ...inner,
    requests,
    get: async (path, headers, signal) => {
      await gate
      requests.push(headers)
      const res = await inner.get(path, headers, signal)
      open.add(res)
      res.once('close', () => { open.delete(res) })
      return res
    },
    cut: () => { for (const res of open) res.destroy(new Error('cut by the test')) },
    hold: () => { gate = new Promise(resolve => { open_ = resolve }) },
    release: () => { gate = undefined; open_?.() }
  }
}

/** Read a response body whole. */
export async function bodyOf (res: IncomingMessage): Promise<string> {
  let text = ''
  res.setEncoding('utf8')
  for await (const chunk of res) text += chunk as string
  return text
}
