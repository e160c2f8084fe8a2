/**
 * A received mail as an RFC 5322 / MIME message (RFC 2045–2047, 2231), so that ordinary mail tools
 * (mutt, neomutt, notmuch, Thunderbird) can read it from the Maildir (docs/PROTOCOL.md §13).
 *
 *   From: alice <12D3KooW…@ipms>        To: <12D3KooW…@ipms>       Message-ID: <id@ipms>
 *   Date, Subject, In-Reply-To; X-IPMS-Entry, X-IPMS-Envelope; X-IPMS-Verified: the sender's
 *   signature was checked against the From peer-id.
 *
 * The MIME writing (encoded words, folding, quoted-printable, base64 attachments, RFC 2231 file
 * names) is nodemailer's MailComposer, the most used implementation on Node. Header values come
 * from checked mail fields (no CR/LF: mail.ts refuses control characters), so nothing here can
 * inject a header.
 */
import MailComposer from 'nodemailer/lib/mail-composer'
import type { StoredMail } from './mail-store.ts'

/** The pseudo-domain of IPMS addresses in RFC 5322 headers: `<peer-id>@ipms`. */
export const MAIL_DOMAIN = 'ipms'

export const mailAddress = (peer: string): string => `${peer}@${MAIL_DOMAIN}`

/** Render a stored mail as a message with LF line ends (the Maildir convention). */
export async function renderMessage (stored: StoredMail, options: { fromName?: string } = {}): Promise<Uint8Array> {
  const { mail } = stored
  const composer = new MailComposer({
    from: { name: options.fromName ?? '', address: mailAddress(mail.from) },
    to: mailAddress(mail.to),
    subject: mail.subject,
    date: new Date(mail.date),
    messageId: `<${mail.id}@${MAIL_DOMAIN}>`,
    // The mail names its parent only: References carries that one (RFC 5322 §3.6.4 allows it).
    ...(mail.inReplyTo === undefined ? {} : { inReplyTo: `<${mail.inReplyTo}@${MAIL_DOMAIN}>`, references: `<${mail.inReplyTo}@${MAIL_DOMAIN}>` }),
    text: mail.body,
    attachments: mail.attachments.map(a => ({ filename: a.name, content: Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength), contentType: a.type })),
    headers: {
      'X-IPMS-Entry': stored.entry,
      'X-IPMS-Envelope': stored.env,
      'X-IPMS-Verified': `signature of ${mail.from}`
    },
    newline: '\n'
  } as ConstructorParameters<typeof MailComposer>[0])
  return new Uint8Array(await composer.compile().build())
}
