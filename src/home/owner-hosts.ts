/**
 * The owner's side of hosting (docs/PROTOCOL.md §11): the hosts this owner granted, and the address
 * card that lists them, kept in `<home>/hosts.json` (docs/ARCHITECTURE.md, home).
 *
 *   { "v": 1, "hosts": [{ "peer", "addrs": [multiaddr], "grant": "ipmsgrant…", "issued", "expires"? }],
 *     "card": "ipmscard…" }
 *
 * Every change re-signs the card (a newer `ts` wins), so `ipms card` always prints the current one.
 * Revoking drops the host from the card; the host itself keeps the inbox until its grant expires,
 * which is why a grant can be given a lifetime.
 */
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { DEFAULT_CARD_TTL_MS, MAX_CARD_ADDRS, MAX_CARD_HOSTS } from '../constants.ts'
import { ConfigError, InvalidArgumentError, NotFoundError } from '../errors.ts'
import { createCard, encodeCard, verifyCard, type AddressCard, type CardHost } from '../hosting/card.ts'
import { createGrant, encodeGrant } from '../hosting/grant.ts'
import type { Identity } from '../identity/identity.ts'
import { parsePeerId } from '../identity/peer-id.ts'
import { writeJsonSynced } from '../util/durable-files.ts'
import { readHomeFile } from './home-file.ts'

export const HOSTS_FILE_NAME = 'hosts.json'
/** The multiaddr protocol code of `/p2p`. */
const P2P_CODE = 421

export interface GrantedHost {
  peer: string
  addrs: string[]
  /** The grant given to it, as text. */
  grant: string
  issued: number
  expires?: number
}

export interface OwnerHosts {
  list: () => Promise<GrantedHost[]>
  /** The current card (signed now if none was yet), as text and checked. */
  card: () => Promise<{ text: string, card: AddressCard }>
  /** Grant `peer` the keeping of this inbox (replacing an earlier grant to it) and re-sign the card. */
  grant: (peer: string, addrs: string[], options?: { ttlMs?: number }) => Promise<{ host: GrantedHost, card: string }>
  /** Drop `peer` from the hosts and the card. NotFoundError when it is not a host. */
  revoke: (peer: string) => Promise<{ host: GrantedHost, card: string }>
}

/** Where a host is dialled: multiaddrs without `/p2p/…` (the card names the peer apart). */
export function hostAddrs (peer: string, addrs: string[]): string[] {
  if (addrs.length === 0) throw new InvalidArgumentError('A host needs at least one address to be reached at (--addr /ip4/…/tcp/…)')
  if (addrs.length > MAX_CARD_ADDRS) throw new InvalidArgumentError(`A host may have at most ${MAX_CARD_ADDRS} addresses`)
  return addrs.map(text => {
    let address
    try {
      address = multiaddr(text)
    } catch {
      throw new InvalidArgumentError(`${JSON.stringify(text)} is not a multiaddr (example: /ip4/203.0.113.7/tcp/4100)`)
    }
    const components = address.getComponents()
    const p2p = components.find(c => c.name === 'p2p')?.value
    if (p2p !== undefined && p2p !== peer) throw new InvalidArgumentError(`The address ${text} is for ${p2p}, not for the host ${peer}`)
    // What a host listens on is not always where it is reached: 0.0.0.0 and port 0 are no place to dial.
    if (components.some(c => (c.name === 'ip4' && c.value === '0.0.0.0') || (c.name === 'ip6' && /^[0:]+$/.test(c.value ?? '')))) {
      throw new InvalidArgumentError(`${text} is an unspecified address (it means "every interface" to a listener): senders cannot dial it. Give the address people reach the host at (ipms id on the host lists them)`)
    }
    if (components.some(c => (c.name === 'tcp' || c.name === 'udp') && c.value === '0')) {
      throw new InvalidArgumentError(`${text} has port 0 (it means "any free port" to a listener): give the port the host listens on (ipms id on the host lists it)`)
    }
    return address.decapsulateCode(P2P_CODE).toString()
  })
}

/**
 * What `hosts grant` was given to name the host: a peer-id, or an address that ends in its
 * `/p2p/<peer-id>` (what `ipms id` prints on the host), which then counts as one of its addresses.
 */
export function grantedHostOf (text: string): { peer: string, addrs: string[] } {
  if (!text.startsWith('/')) return { peer: text, addrs: [] }
  let peer: string | undefined
  try {
    peer = multiaddr(text).getComponents().findLast(c => c.name === 'p2p')?.value
  } catch {
    throw new InvalidArgumentError(`${JSON.stringify(text.slice(0, 200))} is neither a peer-id nor a multiaddr (examples: 12D3KooW…, /ip4/203.0.113.7/tcp/4100/p2p/12D3KooW…)`)
  }
  if (peer === undefined) throw new InvalidArgumentError(`${text} does not say which host it is: end it with /p2p/<peer-id> (ipms id on the host prints it), or give the peer-id and --addr ${text}`)
  return { peer, addrs: [text] }
}

export interface OwnerHostsOptions {
  /** The owner's peer-id. */
  peerId: string
  /** The owner's inbox difficulty (from the config), carried by the card. */
  bits: number
  /** The owner's identity, loaded only when a card or grant must be signed. */
  signer: () => Promise<Identity>
}

export function openOwnerHosts (home: string, options: OwnerHostsOptions): OwnerHosts {
  const { peerId, bits, signer } = options
  const path = join(home, HOSTS_FILE_NAME)

  const read = async (): Promise<{ hosts: GrantedHost[], card?: string }> => {
    const value = await readHomeFile(path, 'fix it, or grant your hosts again')
    if (value === undefined) return { hosts: [] }
    const { hosts, card } = value as { hosts?: unknown, card?: unknown }
    if (!Array.isArray(hosts)) throw new ConfigError(`${path} has no "hosts" list: fix it, or grant your hosts again`)
    return { hosts: hosts as GrantedHost[], card: typeof card === 'string' ? card : undefined }
  }

  const save = async (hosts: GrantedHost[]): Promise<string> => {
    const cardHosts: CardHost[] = hosts.map(h => ({ peer: h.peer, addrs: h.addrs }))
    const card = encodeCard(createCard(await signer(), cardHosts, bits, Date.now(), DEFAULT_CARD_TTL_MS))
    await writeJsonSynced(home, HOSTS_FILE_NAME, { v: 1, hosts, card })
    return card
  }

  return {
    list: async () => (await read()).hosts,
    card: async () => {
      const { hosts, card } = await read()
      // Re-signed when missing, or when the difficulty in the config changed since.
      // Re-signed too when the identity was replaced (`ipms init --force`): the hosts stay listed;
      // and past half its lifetime, so that the DHT record never lapses while the owner is around.
      const current = card === undefined ? undefined : verifyCard(card)
      const fresh = current?.expires !== undefined && Date.now() < current.ts + (current.expires - current.ts) / 2
      if (current !== undefined && fresh && current.bits === bits && current.owner === peerId) return { text: card!, card: current }
      const text = await save(hosts)
      return { text, card: verifyCard(text) }
    },
    grant: async (peerText, addrs, grantOptions = {}) => {
      const peer = parsePeerId(peerText).peerId
      if (peer === peerId) throw new InvalidArgumentError('You cannot grant yourself: your own node keeps your inbox anyway')
      const { hosts } = await read()
      const others = hosts.filter(h => h.peer !== peer)
      if (others.length >= MAX_CARD_HOSTS) throw new InvalidArgumentError(`A card lists at most ${MAX_CARD_HOSTS} hosts: revoke one first`)
      const grant = createGrant(await signer(), peer, { ttlMs: grantOptions.ttlMs })
      const host: GrantedHost = { peer, addrs: hostAddrs(peer, addrs), grant: encodeGrant(grant), issued: grant.issued }
      if (grant.expires !== undefined) host.expires = grant.expires
      const card = await save([...others, host])
      return { host, card }
    },
    revoke: async (peerText) => {
      const peer = parsePeerId(peerText).peerId
      const { hosts } = await read()
      const host = hosts.find(h => h.peer === peer)
      if (host === undefined) throw new NotFoundError(`${peer} is not one of your hosts (see ipms hosts list)`)
      const card = await save(hosts.filter(h => h.peer !== peer))
      return { host, card }
    }
  }
}

/**
 * `draft` with the owner's current card (`Draft.card`), when it lists hosts and the draft has none:
 * the recipient can then answer at once, and keeps the newer card of a contact (PROTOCOL §4.1).
 */
export async function withOwnCard<D extends { card?: string }> (draft: D, ownerHosts: Pick<OwnerHosts, 'card'>): Promise<D> {
  if (draft.card !== undefined) return draft
  const { text, card } = await ownerHosts.card()
  return card.hosts.length === 0 ? draft : { ...draft, card: text }
}
