/**
 * Naming a received mail (README, `ipms list` / `ipms read`): its short id is the end of its MAIL
 * entry hash (base58, well spread); a mail is found by that, by any longer end of the hash, or by
 * its rank among the mail `ipms list` shows (1 = the newest).
 */
import { NotFoundError } from '../errors.ts'
import type { MailStore, StoredMail } from './mail-store.ts'

/** A mail's short id: the last 8 characters of its entry hash. */
export const shortId = (entry: string): string => entry.slice(-8)

/** The mail `id` names in `store`. NotFoundError when none does, or when it names several. */
export async function findMail (store: MailStore, id: string): Promise<StoredMail> {
  // A rank counts what `ipms list` shows; an id names any mail kept here.
  if (/^\d{1,6}$/.test(id)) {
    const stored = (await store.listed())[Number(id) - 1]
    if (stored !== undefined) return stored
  }
  const received = await store.received()
  const matches = received.filter(r => r.entry === id || r.entry.endsWith(id))
  if (matches.length === 1) return matches[0]!
  throw new NotFoundError(matches.length === 0 ? `No mail ${id} here (ipms list shows the ids)` : `${id} names ${matches.length} mails: give more of the id`)
}
