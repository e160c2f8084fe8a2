/**
 * The mail store's side of `ipms list` and `ipms read` (mail.ts): what they do when no daemon
 * answers. A module of its own, imported only then: the store's modules are most of those
 * commands' start-up time, which a command answered by the daemon does not pay.
 */
import { mailDetail, mailRow } from '../../daemon/views.ts'
import type { Contacts } from '../../home/contacts.ts'
import { findMail, shortId } from '../../mail/find-mail.ts'
import { openMailStore } from '../../mail/mail-store.ts'
import { renderMessage } from '../../mail/rfc5322.ts'
import { saveAttachments } from '../save-attachments.ts'

const storeOf = (home: string): ReturnType<typeof openMailStore> => openMailStore(home, { maildir: false })

/** `ipms list --json`'s rows. */
export async function listRows (home: string, contacts: Contacts): Promise<Array<ReturnType<typeof mailRow>>> {
  const names = await contacts.names()
  return (await storeOf(home).received()).map(r => mailRow(r, names))
}

/** `ipms list --quarantined --json`'s rows. */
export async function quarantinedRows (home: string): Promise<Array<{ id: string, entry: string, env: string, receivedAt: number, code: string, reason: string }>> {
  return (await storeOf(home).quarantined()).map(q => ({ id: shortId(q.entry), entry: q.entry, env: q.env, receivedAt: q.receivedAt, code: q.code, reason: q.reason }))
}

/** A mail by id: its RFC 5322 text (`raw`), or `ipms read --json`'s `mail`; attachments saved into `save` first. */
export async function readHere (home: string, id: string, contacts: Contacts, options: { save?: string, raw: boolean }): Promise<{ raw: Uint8Array } | { mail: ReturnType<typeof mailDetail>, saved: string[] }> {
  const stored = await findMail(storeOf(home), id)
  const name = await contacts.nameOf(stored.mail.from)
  const saved = options.save === undefined ? [] : await saveAttachments(options.save, stored.mail.attachments)
  if (options.raw) return { raw: await renderMessage(stored, { fromName: name }) }
  return { mail: mailDetail(stored, name), saved }
}

/** Delete a mail by id from the store and the Maildir; its `{ id, entry }`. */
export async function deleteHere (home: string, id: string): Promise<{ id: string, entry: string }> {
  const store = openMailStore(home)
  const stored = await findMail(store, id)
  await store.removeReceived(stored.entry)
  return { id: shortId(stored.entry), entry: stored.entry }
}
