/**
 * Where a mail to "bob" goes (docs/PROTOCOL.md §14, docs/ARCHITECTURE.md "Sending"): the one
 * resolution of a recipient argument — a contact name, an address card or a peer-id — into a
 * destination, used by `ipms send` and by the daemon's `POST /api/v1/send` alike. In order: a card
 * given (it refreshes the contact's older one), the contact's card, a card found on the DHT a
 * few minutes ago (the cards cache), a fresh DHT lookup (the hosts record, else the owner's own
 * node); plus the pass the recipient gave, if any and unexpired by our clock.
 *
 * Watch out for: a DHT lookup takes seconds (`onLookup` tells the caller it starts); with the DHT
 * off and no card known, UnknownRecipientError says how to add the card.
 */
import { findDestination } from '../discovery/find.ts'
import { PassExpiredError, UnknownRecipientError } from '../errors.ts'
import { passBytes, verifyPass } from '../hosting/pass.ts'
import { openCardCache } from '../home/card-cache.ts'
import type { HomeConfig } from '../home/config.ts'
import { openContacts, type Contacts, type Recipient } from '../home/contacts.ts'
import type { OpenOutboxOptions } from './outbox.ts'
import { cardDestination, type Destination } from './send-mail.ts'

/** How the destination was found: a card given, the contact's card, the cards cache, the DHT's hosts record, the owner's own node on the DHT. */
export type RecipientVia = 'card' | 'contact' | 'cache' | 'dht' | 'direct'

export interface ResolvedRecipient {
  /** The recipient's peer-id. */
  peer: string
  /** Their contact name, when they are a contact. */
  name?: string
  /** Where to deliver (with the recipient's pass, when one is shown). */
  destination: Destination
  via: RecipientVia
  /** Things the sender should be told (a pass that expired, so the mail goes without it). */
  notes: string[]
}

export interface ResolveRecipientOptions {
  home: string
  config: HomeConfig
  /** Default: the home's contacts. */
  contacts?: Contacts
  signal?: AbortSignal
  /** Called when a DHT lookup of `peer` starts (it can take seconds). */
  onLookup?: (peer: string) => void
}

/**
 * The pass the recipient gave us, to show their hosts (docs/PROTOCOL.md §11.3); none when they gave
 * none, or when it expired by our clock (the mail then goes as a stranger's, with a note).
 */
function recipientPass (recipient: Recipient, notes: string[]): Uint8Array | undefined {
  if (recipient.contact?.pass === undefined) return undefined
  try {
    return passBytes(verifyPass(recipient.contact.pass, { owner: recipient.peer }))
  } catch (err) {
    if (!(err instanceof PassExpiredError)) throw err
    notes.push(`${err.message}. Sending without it, as a stranger would.`)
    return undefined
  }
}

/** The destination without the pass: the card given or known, else a lookup (cached a few minutes). */
async function findRecipient (recipient: Recipient, contacts: Contacts, options: ResolveRecipientOptions): Promise<{ destination: Destination, via: RecipientVia }> {
  if (recipient.card !== undefined) {
    // A card given on the command line refreshes a contact's older one.
    if (recipient.contact !== undefined) await contacts.learnCard(recipient.card)
    return { destination: cardDestination(recipient.card), via: recipient.contact?.card === undefined ? 'card' : 'contact' }
  }
  const cache = openCardCache(options.home)
  const cached = await cache.get(recipient.peer)
  if (cached !== undefined) return { destination: cardDestination(cached), via: 'cache' }
  const { config } = options
  if (!config.dht) throw new UnknownRecipientError(`No address card is known for ${recipient.contact?.name ?? recipient.peer}, and the DHT is off in config.json: ask them for their card (ipms card) and add it with ipms contacts add ${recipient.contact?.name ?? 'NAME'} CARD`)
  options.onLookup?.(recipient.peer)
  const found = await findDestination(recipient.peer, { bootstrap: config.bootstrap, mdns: config.mdns, dhtProtocol: config.dhtProtocol, signal: options.signal })
  if (found.card !== undefined) await cache.put(found.card)
  return found
}

/** Resolve `to` (a contact name, a card, a peer-id). UnknownRecipientError when nothing says where to deliver. */
export async function resolveRecipient (to: string, options: ResolveRecipientOptions): Promise<ResolvedRecipient> {
  const contacts = options.contacts ?? openContacts(options.home)
  const recipient = await contacts.resolve(to)
  const found = await findRecipient(recipient, contacts, options)
  const notes: string[] = []
  const pass = recipientPass(recipient, notes)
  return {
    peer: recipient.peer,
    name: recipient.contact?.name,
    destination: pass === undefined ? found.destination : { ...found.destination, pass },
    via: found.via,
    notes
  }
}

/**
 * What an outbox opened in `home` takes from its config: how long it retries, and how a retry finds
 * the recipient's current card (as a send does: contacts, the cards cache, the DHT).
 */
export function outboxSettings (home: string, config: HomeConfig): Pick<OpenOutboxOptions, 'maxAgeMs' | 'resolve'> {
  return {
    maxAgeMs: config.outboxMaxAgeMs,
    resolve: async (owner, signal) => (await resolveRecipient(owner, { home, config, signal })).destination
  }
}
