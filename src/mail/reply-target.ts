/**
 * What `--in-reply-to` (and the API's `inReplyTo`) names (README, "Replies"): the mail answered,
 * as its Message-ID's id part, the `id` field of the mail format (PROTOCOL §4.1), which becomes
 * `In-Reply-To: <id@ipms>` and `References: <id@ipms>` in the Maildir.
 *
 * A user gives what `ipms list` shows (a short id, the end of an entry hash, a rank) or a
 * Message-ID (`<id@ipms>`, or a bare id of the form IPMS makes: 32 lowercase hex). Anything else is
 * refused: a mistyped short id written as a Message-ID would thread the reply to nothing.
 */
import { InvalidArgumentError, NotFoundError } from '../errors.ts'
import { findMail } from './find-mail.ts'
import { MAIL_ID_PATTERN } from './mail.ts'
import type { MailStore } from './mail-store.ts'

/** `<id@domain>`: a Message-ID as mail tools write it. */
const MESSAGE_ID = /^<([^<>@\s]+)@[^<>@\s]+>$/
/** What newMailId makes. */
const IPMS_MAIL_ID = /^[0-9a-f]{32}$/

/** The mail id `text` names, for `inReplyTo`. InvalidArgumentError when it names nothing known. */
export async function replyTarget (store: MailStore, text: string): Promise<string> {
  const trimmed = text.trim()
  const bracketed = MESSAGE_ID.exec(trimmed)?.[1]
  if (bracketed !== undefined) {
    if (!MAIL_ID_PATTERN.test(bracketed)) throw new InvalidArgumentError(`${JSON.stringify(trimmed.slice(0, 80))} is not a Message-ID an IPMS mail can name (letters, digits, '.', '_', '-' before the @)`)
    return bracketed
  }
  try {
    return (await findMail(store, trimmed)).mail.id
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err
    if (IPMS_MAIL_ID.test(trimmed)) return trimmed
    throw new InvalidArgumentError(`--in-reply-to ${JSON.stringify(trimmed.slice(0, 80))}: ${err.message}; give an id from ipms list, or the Message-ID <id@ipms> of the mail answered`)
  }
}
