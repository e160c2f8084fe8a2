/**
 * The plaintext mail model, v1 (docs/PROTOCOL.md §4): its fields, limits, canonical encoding and
 * the sender's signature.
 *
 *   mail = dag-cbor { v: 1, from, to, date, id, subject, body, attachments, inReplyTo?, card?, sig }
 *   sig  = Ed25519(sender, "ipms/mail/v1" ‖ 0x00 ‖ SHA-256(dag-cbor(mail without sig)))
 *
 * The signature covers the SHA-256 of the canonical encoding rather than the encoding itself (as
 * minisign does): Ed25519 hashes its message twice, so this makes signing a 3 MiB mail one SHA-256
 * pass instead of two SHA-512 passes, with the same binding (dag-cbor is canonical, so the reader
 * re-encodes exactly the bytes that were signed).
 *
 * `checkMail` is the single schema check for both directions: the sender validates before sealing
 * (InvalidMailError), the reader validates what it decrypted (MalformedError), with the same rules.
 * Strings that end up in RFC 5322 headers or file names are restricted here, once, so that no
 * later renderer can be tricked into header injection or path traversal.
 */
import crypto from 'node:crypto'
import {
  CARD_PREFIX, FORMAT_VERSION, MAX_ATTACHMENTS, MAX_FILENAME_BYTES, MAX_MAIL_ID_BYTES,
  MAX_MEDIA_TYPE_BYTES, MAX_SIGNED_RECORD_BYTES, MAX_SUBJECT_BYTES, TAG_MAIL
} from '../constants.ts'
import { encodeCbor, taggedBytes } from '../crypto/codec.ts'
import { signEd25519, verifyEd25519 } from '../crypto/keys.ts'
import { randomBytes } from '../crypto/random.ts'
import { isBytes } from '../util/fields.ts'

/** A file carried inside a mail. */
export interface Attachment {
  /** File name, no path: no '/', '\\', NUL or control characters, not '.' or '..'. */
  name: string
  /** Media type, e.g. `application/pdf` (RFC 6838 `type/subtype`). */
  type: string
  data: Uint8Array
}

/** A mail before its signature. */
export interface UnsignedMail {
  v: 1
  /** Sender's peer-id; its key signs `sig`. */
  from: string
  /** Recipient's peer-id. */
  to: string
  /** Milliseconds since the Unix epoch, as the sender's clock says. */
  date: number
  /** Sender-chosen unique id, `[A-Za-z0-9._-]+`; becomes the RFC 5322 Message-ID. */
  id: string
  subject: string
  /** Text body (UTF-8). Binary content goes into attachments. */
  body: string
  attachments: Attachment[]
  /** The `id` of the mail this one answers. */
  inReplyTo?: string
  /**
   * The sender's own address card (`ipmscard…`, PROTOCOL §11.2), so that the recipient can answer
   * without looking it up; the reader checks it is the sender's (seal.ts' openMail).
   */
  card?: string
}

/** A signed mail: what the envelope carries, and what the reader gets back with the sender proven. */
export interface Mail extends UnsignedMail {
  /** Ed25519 signature by `from`, 64 bytes. */
  sig: Uint8Array
}

const MAIL_KEYS = new Set(['v', 'from', 'to', 'date', 'id', 'subject', 'body', 'attachments', 'inReplyTo', 'card', 'sig'])
const ATTACHMENT_KEYS = ['data', 'name', 'type']
/** The characters of a mail id (the Message-ID's part before the @). */
export const MAIL_ID_PATTERN = /^[A-Za-z0-9._-]+$/
// C0 controls and DEL: forbidden in subjects (header injection) and file names.
const CONTROL = /[\u0000-\u001f\u007f]/
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$/

const byteLength = (text: string): number => Buffer.byteLength(text, 'utf8')

/** A fresh mail id: 16 random bytes in lowercase hex (header-safe, unguessable). */
export function newMailId (): string {
  return Buffer.from(randomBytes(16)).toString('hex')
}

/** What is wrong with the attachment at `index` (counted from 1, as people count). */
function attachmentProblem (value: unknown, index: number): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `attachment ${index} is not a map`
  const keys = Object.keys(value).sort()
  if (keys.join() !== ATTACHMENT_KEYS.join()) return `attachment ${index} must have exactly the fields ${ATTACHMENT_KEYS.join(', ')}`
  const { name, type, data } = value as Record<string, unknown>
  if (typeof name !== 'string' || name.length === 0 || byteLength(name) > MAX_FILENAME_BYTES) return `attachment ${index} name must be 1 to ${MAX_FILENAME_BYTES} bytes`
  if (CONTROL.test(name) || name.includes('/') || name.includes('\\') || name === '.' || name === '..') return `attachment ${index} name must be a plain file name (no path, no control characters)`
  if (typeof type !== 'string' || byteLength(type) > MAX_MEDIA_TYPE_BYTES || !MEDIA_TYPE.test(type)) return `attachment ${index} type must be a media type such as application/octet-stream`
  if (!(isBytes(data))) return `attachment ${index} data must be bytes`
  return undefined
}

function idProblem (value: unknown, field: string): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || byteLength(value) > MAX_MAIL_ID_BYTES || !MAIL_ID_PATTERN.test(value)) {
    return `${field} must be 1 to ${MAX_MAIL_ID_BYTES} characters of A-Z a-z 0-9 . _ -`
  }
  return undefined
}

/**
 * The first problem with a mail's shape and limits, or undefined when it is well formed.
 * Checks everything but the signature's validity and the peer-ids' keys (the caller parses those).
 */
export function mailProblem (value: unknown, { signed }: { signed: boolean }): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || isBytes(value)) return 'the mail is not a map'
  const fields = value as Record<string, unknown>
  for (const key of Object.keys(fields)) {
    if (!MAIL_KEYS.has(key) || (!signed && key === 'sig')) return `unknown field "${key}"`
    if (fields[key] === undefined) return `field "${key}" is undefined`
  }
  if (fields.v !== FORMAT_VERSION) return `version must be ${FORMAT_VERSION}`
  if (typeof fields.from !== 'string' || fields.from.length === 0) return 'from must be a peer-id'
  if (typeof fields.to !== 'string' || fields.to.length === 0) return 'to must be a peer-id'
  if (typeof fields.date !== 'number' || !Number.isSafeInteger(fields.date) || fields.date < 0) return 'date must be a whole number of milliseconds since 1970'
  const idError = idProblem(fields.id, 'id')
  if (idError !== undefined) return idError
  if ('inReplyTo' in fields) {
    const replyError = idProblem(fields.inReplyTo, 'inReplyTo')
    if (replyError !== undefined) return replyError
  }
  if ('card' in fields && (typeof fields.card !== 'string' || !fields.card.startsWith(CARD_PREFIX) || fields.card.length > MAX_SIGNED_RECORD_BYTES * 2)) {
    return `card must be an address card (${CARD_PREFIX}…, at most ${MAX_SIGNED_RECORD_BYTES * 2} characters)`
  }
  if (typeof fields.subject !== 'string') return 'subject must be text'
  if (byteLength(fields.subject) > MAX_SUBJECT_BYTES) return `subject is longer than ${MAX_SUBJECT_BYTES} bytes`
  if (CONTROL.test(fields.subject)) return 'subject must be one line without control characters'
  if (typeof fields.body !== 'string') return 'body must be text'
  if (!Array.isArray(fields.attachments)) return 'attachments must be a list'
  if (fields.attachments.length > MAX_ATTACHMENTS) return `more than ${MAX_ATTACHMENTS} attachments`
  for (let i = 0; i < fields.attachments.length; i++) {
    const problem = attachmentProblem(fields.attachments[i], i + 1)
    if (problem !== undefined) return problem
  }
  if (signed && (!(isBytes(fields.sig)) || fields.sig.byteLength !== 64)) return 'sig must be a 64-byte Ed25519 signature'
  return undefined
}

/** The mail without its signature, keys in a fixed set (inReplyTo and card only when present). */
export function unsignedPart (mail: UnsignedMail): UnsignedMail {
  const { v, from, to, date, id, subject, body, attachments, inReplyTo, card } = mail
  const unsigned: UnsignedMail = { v, from, to, date, id, subject, body, attachments: attachments.map(({ name, type, data }) => ({ name, type, data })) }
  if (inReplyTo !== undefined) unsigned.inReplyTo = inReplyTo
  if (card !== undefined) unsigned.card = card
  return unsigned
}

/** The bytes the sender signs: tag ‖ 0x00 ‖ SHA-256(dag-cbor(unsigned mail)). */
export function mailSigningInput (mail: UnsignedMail): Uint8Array {
  const digest = crypto.createHash('sha256').update(encodeCbor(unsignedPart(mail))).digest()
  return taggedBytes(TAG_MAIL, digest)
}

/** Sign a well-formed unsigned mail with the sender's Ed25519 seed. */
export function signMail (mail: UnsignedMail, senderSeed: Uint8Array): Mail {
  const unsigned = unsignedPart(mail)
  return { ...unsigned, sig: signEd25519(senderSeed, mailSigningInput(unsigned)) }
}

/** True when `sig` verifies against the raw Ed25519 key of `from`. */
export function verifyMailSignature (mail: Mail, senderPublicKey: Uint8Array): boolean {
  return verifyEd25519(senderPublicKey, mailSigningInput(mail), mail.sig)
}
