/**
 * Petnames: the owner's own names for other people's addresses, `<home>/contacts.json`
 * (docs/ARCHITECTURE.md, home). A contact is a name, a peer-id and, once known, that peer's
 * latest address card (which says where to deliver) and the pass they gave us (docs/PROTOCOL.md
 * §11.3: shown to their hosts with each delivery). The passes this owner gave are listed too, by
 * contact, so that the owner knows who holds which. Every command that takes a recipient takes a
 * name, an address card or a peer-id, resolved here.
 *
 *   { "v": 1, "contacts": { "bob": { "peer": "12D3KooW…", "card": "ipmscard…", "pass": "ipmspass…", "added": 1764… } },
 *     "issued": [{ "id": "<hex>", "to": "bob", "issued": 1764…, "expires": 1795… }] }
 *
 * Watch for: a name never looks like an address (no `12D3KooW…`, no `ipmscard…`), so resolving is
 * unambiguous; a card replaces a contact's older card only when it is newer (`ts`).
 */
import { join } from 'node:path'
import { CARD_PREFIX } from '../constants.ts'
import { ConfigError, ContactExistsError, InvalidArgumentError, NotFoundError, UnknownRecipientError } from '../errors.ts'
import { encodeCard, verifyCard, type AddressCard } from '../hosting/card.ts'
import { createPass, encodePass, passIdText, verifyPass, type Pass } from '../hosting/pass.ts'
import type { LifetimeOptions } from '../hosting/signed-record.ts'
import type { Identity } from '../identity/identity.ts'
import { parsePeerId } from '../identity/peer-id.ts'
import { writeJsonSynced } from '../util/durable-files.ts'
import { serialQueue, type SerialQueue } from '../util/serial-queue.ts'
import { readHomeFile } from './home-file.ts'

export const CONTACTS_FILE_NAME = 'contacts.json'
/**
 * A petname: 1 to 64 printable characters of any script, spaces inside (`Zoë`, `Bob Smith`): no
 * control, format, private-use or unassigned character, no line break, no space at either end,
 * no leading `-` (read as an option). Kept in NFC, so a name typed decomposed is the same name.
 */
const NAME = /^(?![-\p{Z}])[^\p{C}\p{Zl}\p{Zp}]{1,64}(?<!\p{Z})$/u
/** The name as stored and looked up: NFC (`Zoë` is one name however the keyboard composed it). */
const normalName = (name: string): string => name.normalize('NFC')
/** Is `text` a possible name (for the hints of error messages)? */
const isName = (text: string): boolean => NAME.test(normalName(text))

export interface Contact {
  name: string
  peer: string
  /** The peer's address card as text, once known. */
  card?: string
  /** The pass this peer gave us to write to them (text), once given. */
  pass?: string
  /** When it was added or last changed, ms. */
  added: number
}

/** A pass this owner gave a contact (the pass itself is with the contact). */
export interface IssuedPass {
  /** The pass id, hex. */
  id: string
  /** The contact's name when it was given. */
  to: string
  issued: number
  expires?: number
}

/** Who a recipient argument designates: the peer, its card when known, and the contact if any. */
export interface Recipient {
  peer: string
  card?: AddressCard
  contact?: Contact
}

export interface Contacts {
  list: () => Promise<Contact[]>
  /**
   * Add or update `name` from a card or a peer-id, with the pass they gave us (checked: theirs,
   * unexpired). ContactExistsError when the name is another peer's (unless `replace`).
   */
  add: (name: string, address: string, options?: { replace?: boolean, pass?: string }) => Promise<Contact>
  remove: (name: string) => Promise<Contact>
  /** The petname of a peer, if it has one. */
  nameOf: (peer: string) => Promise<string | undefined>
  /** Every peer's petname, from one read of the file (for listings of many mails). */
  names: () => Promise<Map<string, string>>
  /** A name, a card or a peer-id, to a recipient. UnknownRecipientError for an unknown name. */
  resolve: (recipient: string) => Promise<Recipient>
  /** Keep a newer card of a known contact (e.g. one met while sending). */
  learnCard: (card: AddressCard) => Promise<void>
  /** Sign a new pass for the contact `name` as `owner` and list it as given. NotFoundError for an unknown name. */
  issuePass: (name: string, owner: Identity, options?: LifetimeOptions) => Promise<{ pass: Pass, text: string, issued: IssuedPass }>
  /** The passes this owner gave, oldest first. */
  issued: () => Promise<IssuedPass[]>
}

/** A contact name checked (see NAME) and in NFC. InvalidArgumentError, saying why, otherwise. */
export function checkContactName (given: string): string {
  const name = normalName(given)
  const shown = JSON.stringify(name.slice(0, 80))
  if (name.startsWith('12D3KooW') || name.startsWith(CARD_PREFIX)) throw new InvalidArgumentError(`${shown} cannot be a contact name: it looks like an address (names never start with 12D3KooW or ${CARD_PREFIX})`)
  if (!NAME.test(name)) {
    throw new InvalidArgumentError(`${shown} cannot be a contact name: use 1 to 64 printable characters (any script, spaces inside: Zoë, "Bob Smith"), with no space at either end and no leading '-'`)
  }
  return name
}

/**
 * The changes of each contacts file in this process, one at a time: each reads the whole file,
 * changes it and writes it back, so two at once (a daemon's `learnCard` during an API `add`) would
 * lose one. Another process changes the file only when no daemon runs (the CLI goes through it).
 */
const changeQueues = new Map<string, SerialQueue>()

/** `name` as one shell word, for a command line in a message: quoted when it has anything but letters, digits and `._-`. */
const shellWord = (name: string): string => /^[\p{L}\p{N}._-]+$/u.test(name) ? name : `'${name.replace(/'/g, `'\\''`)}'`

export function openContacts (home: string): Contacts {
  const path = join(home, CONTACTS_FILE_NAME)
  let queue = changeQueues.get(path)
  if (queue === undefined) changeQueues.set(path, queue = serialQueue())
  const changes = queue

  /** The whole file: the contacts by name, and the passes given. */
  const load = async (): Promise<{ contacts: Record<string, Contact>, issued: IssuedPass[] }> => {
    const value = await readHomeFile(path, 'fix it or restore it from a backup')
    if (value === undefined) return { contacts: {}, issued: [] }
    const { contacts, issued } = value as { contacts?: unknown, issued?: unknown }
    if (typeof contacts !== 'object' || contacts === null) throw new ConfigError(`${path} has no "contacts" object: fix it or restore it from a backup`)
    if (issued !== undefined && !Array.isArray(issued)) throw new ConfigError(`${path}: "issued" must be a list of passes given: fix it or restore it from a backup`)
    return {
      contacts: Object.fromEntries(Object.entries(contacts as Record<string, Omit<Contact, 'name'>>).map(([name, c]) => [name, { ...c, name }])),
      issued: (issued ?? []) as IssuedPass[]
    }
  }
  const read = async (): Promise<Record<string, Contact>> => (await load()).contacts

  const write = async ({ contacts, issued }: { contacts: Record<string, Contact>, issued: IssuedPass[] }): Promise<void> => {
    const stored = Object.fromEntries(Object.entries(contacts).sort(([a], [b]) => a.localeCompare(b)).map(([name, { name: _, ...rest }]) => [name, rest]))
    await writeJsonSynced(home, CONTACTS_FILE_NAME, { v: 1, contacts: stored, ...(issued.length === 0 ? {} : { issued }) })
  }

  /**
   * Every peer's petname. For display only: a damaged file gives none (peer-ids are shown instead),
   * so that it never stops mail from being stored, listed or read (`contacts list` says what is wrong).
   */
  const names = async (): Promise<Map<string, string>> => {
    const byPeer = new Map<string, string>()
    let contacts: Record<string, Contact>
    try {
      contacts = await read()
    } catch (err) {
      if (err instanceof ConfigError) return byPeer
      throw err
    }
    for (const c of Object.values(contacts)) if (!byPeer.has(c.peer)) byPeer.set(c.peer, c.name)
    return byPeer
  }

  const newer = (card: AddressCard, current?: string): boolean => current === undefined || verifyCard(current).ts < card.ts

  return {
    list: async () => Object.values(await read()).sort((a, b) => a.name.localeCompare(b.name)),
    add: async (given, address, options = {}) => await changes.run(async () => {
      const name = checkContactName(given)
      const card = address.startsWith(CARD_PREFIX) ? verifyCard(address) : undefined
      const peer = card?.owner ?? parsePeerId(address).peerId
      const pass = options.pass === undefined ? undefined : encodePass(verifyPass(options.pass, { owner: peer }))
      const file = await load()
      const contacts = file.contacts
      const existing = contacts[name]
      if (existing !== undefined && existing.peer !== peer && options.replace !== true) {
        throw new ContactExistsError(`The contact "${name}" is already ${existing.peer}: choose another name, or replace it with --force`)
      }
      const keep = existing?.peer === peer ? existing.card : undefined
      const contact: Contact = { name, peer, added: Date.now() }
      const text = card !== undefined && newer(card, keep) ? encodeCard(card) : keep
      if (text !== undefined) contact.card = text
      const keptPass = pass ?? (existing?.peer === peer ? existing.pass : undefined)
      if (keptPass !== undefined) contact.pass = keptPass
      contacts[name] = contact
      await write(file)
      return contact
    }),
    remove: async (given) => await changes.run(async () => {
      const name = normalName(given)
      const file = await load()
      const contact = file.contacts[name]
      if (contact === undefined) throw new NotFoundError(`There is no contact named ${JSON.stringify(name.slice(0, 80))} (see ipms contacts list)`)
      delete file.contacts[name]
      await write(file)
      return contact
    }),
    nameOf: async (peer) => (await names()).get(peer),
    names,
    resolve: async (recipient) => {
      if (recipient.startsWith(CARD_PREFIX)) {
        // A card needs no contact: a damaged contacts file does not stop a send by card.
        const card = verifyCard(recipient)
        const contact = Object.values(await read().catch((err: unknown) => { if (err instanceof ConfigError) return {}; throw err })).find(c => c.peer === card.owner)
        return { peer: card.owner, card, contact }
      }
      const contacts = await read()
      if (recipient.startsWith('12D3KooW') || recipient.startsWith('b')) {
        let peer: string | undefined
        try { peer = parsePeerId(recipient).peerId } catch (err) { if (!isName(recipient)) throw err }
        if (peer !== undefined) {
          const contact = Object.values(contacts).find(c => c.peer === peer)
          return { peer, contact, card: contact?.card === undefined ? undefined : verifyCard(contact.card) }
        }
      }
      const contact = contacts[normalName(recipient)]
      if (contact === undefined) {
        throw new UnknownRecipientError(`${JSON.stringify(recipient.slice(0, 80))} is not a contact, an address card or a peer-id: add it with ipms contacts add ${isName(recipient) ? shellWord(normalName(recipient)) : 'NAME'} CARD`)
      }
      return { peer: contact.peer, contact, card: contact.card === undefined ? undefined : verifyCard(contact.card) }
    },
    learnCard: async (card) => { await changes.run(async () => {
      const file = await load()
      const contact = Object.values(file.contacts).find(c => c.peer === card.owner)
      if (contact === undefined || !newer(card, contact.card)) return
      contact.card = encodeCard(card)
      contact.added = Date.now()
      await write(file)
    }) },
    issuePass: async (given, owner, options = {}) => await changes.run(async () => {
      const name = normalName(given)
      const file = await load()
      if (file.contacts[name] === undefined) throw new NotFoundError(`There is no contact named ${JSON.stringify(name.slice(0, 80))}: add them first (ipms contacts add ${isName(name) ? shellWord(name) : 'NAME'} PEER-ID)`)
      const pass = createPass(owner, options)
      const issued: IssuedPass = { id: passIdText(pass), to: name, issued: pass.issued, ...(pass.expires === undefined ? {} : { expires: pass.expires }) }
      file.issued.push(issued)
      await write(file)
      return { pass, text: encodePass(pass), issued }
    }),
    issued: async () => (await load()).issued
  }
}
