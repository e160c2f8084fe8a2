/**
 * Petnames: the owner's own names for other people's addresses, `<home>/contacts.json`
 * (docs/ARCHITECTURE.md, home). A contact is a name, a peer-id and, once known, that peer's
 * latest address card (which says where to deliver). Every command that takes a recipient takes a
 * name, an address card or a peer-id, resolved here.
 *
 *   { "v": 1, "contacts": { "bob": { "peer": "12D3KooW…", "card": "ipmscard…", "added": 1764…  } } }
 *
 * Watch for: a name never looks like an address (no `12D3KooW…`, no `ipmscard…`), so resolving is
 * unambiguous; a card replaces a contact's older card only when it is newer (`ts`).
 */
import { join } from 'node:path'
import { CARD_PREFIX } from '../constants.ts'
import { ConfigError, ContactExistsError, InvalidArgumentError, NotFoundError, UnknownRecipientError } from '../errors.ts'
import { encodeCard, verifyCard, type AddressCard } from '../hosting/card.ts'
import { parsePeerId } from '../identity/peer-id.ts'
import { writeJsonSynced } from '../util/durable-files.ts'
import { readHomeFile } from './home-file.ts'

export const CONTACTS_FILE_NAME = 'contacts.json'
const NAME = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/

export interface Contact {
  name: string
  peer: string
  /** The peer's address card as text, once known. */
  card?: string
  /** When it was added or last changed, ms. */
  added: number
}

/** Who a recipient argument designates: the peer, its card when known, and the contact if any. */
export interface Recipient {
  peer: string
  card?: AddressCard
  contact?: Contact
}

export interface Contacts {
  list: () => Promise<Contact[]>
  /** Add or update `name` from a card or a peer-id. ContactExistsError when the name is another peer's (unless `replace`). */
  add: (name: string, address: string, options?: { replace?: boolean }) => Promise<Contact>
  remove: (name: string) => Promise<Contact>
  /** The petname of a peer, if it has one. */
  nameOf: (peer: string) => Promise<string | undefined>
  /** Every peer's petname, from one read of the file (for listings of many mails). */
  names: () => Promise<Map<string, string>>
  /** A name, a card or a peer-id, to a recipient. UnknownRecipientError for an unknown name. */
  resolve: (recipient: string) => Promise<Recipient>
  /** Keep a newer card of a known contact (e.g. one met while sending). */
  learnCard: (card: AddressCard) => Promise<void>
}

/** Check a contact name: a letter, then letters, digits, `.`, `_`, `-`; 64 at most. */
export function checkContactName (name: string): string {
  if (!NAME.test(name) || name.startsWith('12D3KooW') || name.startsWith(CARD_PREFIX)) {
    throw new InvalidArgumentError(`"${name}" cannot be a contact name: use a letter then letters, digits, '.', '_' or '-' (64 at most)`)
  }
  return name
}

export function openContacts (home: string): Contacts {
  const path = join(home, CONTACTS_FILE_NAME)

  const read = async (): Promise<Record<string, Contact>> => {
    const value = await readHomeFile(path, 'fix it or restore it from a backup')
    if (value === undefined) return {}
    const contacts = (value as { contacts?: unknown }).contacts
    if (typeof contacts !== 'object' || contacts === null) throw new ConfigError(`${path} has no "contacts" object: fix it or restore it from a backup`)
    return Object.fromEntries(Object.entries(contacts as Record<string, Omit<Contact, 'name'>>).map(([name, c]) => [name, { ...c, name }]))
  }

  const write = async (contacts: Record<string, Contact>): Promise<void> => {
    const stored = Object.fromEntries(Object.entries(contacts).sort(([a], [b]) => a.localeCompare(b)).map(([name, { name: _, ...rest }]) => [name, rest]))
    await writeJsonSynced(home, CONTACTS_FILE_NAME, { v: 1, contacts: stored })
  }

  const names = async (): Promise<Map<string, string>> => {
    const byPeer = new Map<string, string>()
    for (const c of Object.values(await read())) if (!byPeer.has(c.peer)) byPeer.set(c.peer, c.name)
    return byPeer
  }

  const newer = (card: AddressCard, current?: string): boolean => current === undefined || verifyCard(current).ts < card.ts

  return {
    list: async () => Object.values(await read()).sort((a, b) => a.name.localeCompare(b.name)),
    add: async (name, address, options = {}) => {
      checkContactName(name)
      const card = address.startsWith(CARD_PREFIX) ? verifyCard(address) : undefined
      const peer = card?.owner ?? parsePeerId(address).peerId
      const contacts = await read()
      const existing = contacts[name]
      if (existing !== undefined && existing.peer !== peer && options.replace !== true) {
        throw new ContactExistsError(`The contact "${name}" is already ${existing.peer}: choose another name, or replace it with --force`)
      }
      const keep = existing?.peer === peer ? existing.card : undefined
      const contact: Contact = { name, peer, added: Date.now() }
      const text = card !== undefined && newer(card, keep) ? encodeCard(card) : keep
      if (text !== undefined) contact.card = text
      contacts[name] = contact
      await write(contacts)
      return contact
    },
    remove: async (name) => {
      const contacts = await read()
      const contact = contacts[name]
      if (contact === undefined) throw new NotFoundError(`There is no contact named "${name}" (see ipms contacts list)`)
      delete contacts[name]
      await write(contacts)
      return contact
    },
    nameOf: async (peer) => (await names()).get(peer),
    names,
    resolve: async (recipient) => {
      if (recipient.startsWith(CARD_PREFIX)) {
        const card = verifyCard(recipient)
        const contact = Object.values(await read()).find(c => c.peer === card.owner)
        return { peer: card.owner, card, contact }
      }
      const contacts = await read()
      if (recipient.startsWith('12D3KooW') || recipient.startsWith('b')) {
        let peer: string | undefined
        try { peer = parsePeerId(recipient).peerId } catch (err) { if (!NAME.test(recipient)) throw err }
        if (peer !== undefined) {
          const contact = Object.values(contacts).find(c => c.peer === peer)
          return { peer, contact, card: contact?.card === undefined ? undefined : verifyCard(contact.card) }
        }
      }
      const contact = contacts[recipient]
      if (contact === undefined) {
        throw new UnknownRecipientError(`"${recipient}" is not a contact, an address card or a peer-id: add it with ipms contacts add ${NAME.test(recipient) ? recipient : 'NAME'} CARD`)
      }
      return { peer: contact.peer, contact, card: contact.card === undefined ? undefined : verifyCard(contact.card) }
    },
    learnCard: async (card) => {
      const contacts = await read()
      const contact = Object.values(contacts).find(c => c.peer === card.owner)
      if (contact === undefined || !newer(card, contact.card)) return
      contact.card = encodeCard(card)
      contact.added = Date.now()
      await write(contacts)
    }
  }
}
