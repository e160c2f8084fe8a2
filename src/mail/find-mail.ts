/**
 * Naming a received mail (README, `ipms list` / `ipms read`): its short id is the end of its MAIL
 * entry hash (base58, well spread); a mail is found by that, by any longer end of the hash, or by
 * its rank among the mail `ipms list` shows (1 = the newest).
 */
import { NotFoundError } from '../errors.ts'
import type { MailStore, StoredMail } from './mail-store.ts'
import { MIN_ID_END, matchIdEnd } from '../util/id-end.ts'

/** A mail's short id: the last 8 characters of its entry hash. */
export const shortId = (entry: string): string => entry.slice(-8)

/** The mail `id` names in `store`. NotFoundError when none does, or when it names several. */
export async function findMail (store: MailStore, id: string): Promise<StoredMail> {
  // A rank counts what `ipms list` shows; an id names any mail kept here. A number past the end of
  // the list is not tried as the end of a hash: "3" ends one hash in 58.
  if (/^\d{1,6}$/.test(id)) {
    const listed = await store.listed()
    const stored = listed[Number(id) - 1]
    if (stored !== undefined) return stored
    throw new NotFoundError(`No mail ${id}: ipms list shows ${listed.length === 1 ? '1 mail' : `${listed.length} mails`} (ids or ranks from 1)`)
  }
  const matches = matchIdEnd(await store.received(), id, r => r.entry)
  if (matches.length === 1) return matches[0]!
  throw new NotFoundError(matches.length === 0 ? `No mail ${id} here (ipms list shows the ids; give at least ${MIN_ID_END} characters of one)` : `${id} names ${matches.length} mails: give more of the id`)
}
