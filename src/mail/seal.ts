/**
 * Sign-then-encrypt a mail to a peer-id, and the reverse (docs/PROTOCOL.md §3–4).
 *
 *   sealMail: build → check → sign (sender key) → encode → seal to the recipient's key → CID
 *   openMail: size cap → decode envelope → decrypt → unpad → decode → check → verify `from` → check `to`
 *
 * `openMail` returns a mail only when everything holds: the sender is proven by the key inside
 * `from`, and the mail was written for this reader (`to`), so a recipient cannot re-seal a signed
 * mail to a third party and have it pass as addressed to them (surreptitious forwarding).
 * Every refusal is a typed error; nothing else escapes, whatever the bytes.
 */
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import * as dagCbor from '@ipld/dag-cbor'
import { FORMAT_VERSION, MAX_MAIL_BYTES } from '../constants.ts'
import { decodeCbor, encodeCbor } from '../crypto/codec.ts'
import { decodeEnvelope, openEnvelope, sealEnvelope, type SealRandomness } from '../crypto/envelope.ts'
import { BadSignatureError, InvalidMailError, IpmsError, MalformedError, MisaddressedError, TooLargeError, UnsupportedVersionError } from '../errors.ts'
import type { Identity } from '../identity/identity.ts'
import { verifyCard } from '../hosting/card.ts'
import { parsePeerId } from '../identity/peer-id.ts'
import { mailProblem, newMailId, signMail, verifyMailSignature, type Attachment, type Mail, type UnsignedMail } from './mail.ts'

/** What a sender writes; everything else is filled in by `sealMail`. */
export interface Draft {
  subject?: string
  body?: string
  attachments?: Attachment[]
  inReplyTo?: string
  /** The sender's own address card, carried so that the recipient can answer at once. */
  card?: string
  /** Defaults to now. */
  date?: number
  /** Defaults to a fresh random id. */
  id?: string
}

export interface SealOptions {
  /** The sender; its key signs the mail. */
  from: Identity
  /** The recipient's peer-id (`12D3KooW…`); its key, inside the peer-id, is the one that can open. */
  to: string
  /** The recipient's inbox address: bound to the envelope as AAD. */
  inbox: string
  /** Fixed randomness for test vectors only. */
  randomness?: SealRandomness
}

/** A sealed mail: the envelope block, its CID, and the signed mail that is inside (for the outbox). */
export interface SealedMail {
  envelope: Uint8Array
  cid: CID
  mail: Mail
}

export interface OpenOptions {
  /** The reader; must be the mail's recipient. */
  identity: Identity
  /** The reader's inbox address the envelope was delivered to (the AAD). */
  inbox: string
}

/** The CIDv1 (dag-cbor, sha2-256) of an envelope block. */
export async function envelopeCid (envelope: Uint8Array): Promise<CID> {
  return CID.create(1, dagCbor.code, await sha256.digest(envelope))
}

/** Sign `draft` as `from`, seal it to `to` for `inbox`. */
export async function sealMail (draft: Draft, options: SealOptions): Promise<SealedMail> {
  const recipient = parsePeerId(options.to)
  const unsigned: UnsignedMail = {
    v: FORMAT_VERSION,
    from: options.from.peerId,
    to: recipient.peerId,
    date: draft.date ?? Date.now(),
    id: draft.id ?? newMailId(),
    subject: draft.subject ?? '',
    body: draft.body ?? '',
    attachments: draft.attachments ?? []
  }
  if (draft.inReplyTo !== undefined) unsigned.inReplyTo = draft.inReplyTo
  if (draft.card !== undefined) unsigned.card = draft.card
  const problem = mailProblem(unsigned, { signed: false })
  if (problem !== undefined) throw new InvalidMailError(`The mail cannot be sent: ${problem}`)
  const mail = signMail(unsigned, options.from.seed)
  const plaintext = encodeCbor(mail)
  if (plaintext.byteLength > MAX_MAIL_BYTES) {
    throw new TooLargeError(`The mail is ${plaintext.byteLength} bytes encoded, over the limit of ${MAX_MAIL_BYTES}; send smaller attachments or split it`)
  }
  const envelope = sealEnvelope(plaintext, recipient.publicKey, options.inbox, options.randomness)
  return { envelope, cid: await envelopeCid(envelope), mail }
}

/** Open an envelope as its recipient; returns the mail with its sender proven, or throws a typed error. */
export function openMail (envelopeBytes: Uint8Array, options: OpenOptions): Mail {
  const { identity, inbox } = options
  const plaintext = openEnvelope(decodeEnvelope(envelopeBytes), identity.seed, identity.publicKey, inbox)
  const value = decodeCbor(plaintext, MAX_MAIL_BYTES, 'mail')
  if (typeof value === 'object' && value !== null && 'v' in value && value.v !== FORMAT_VERSION) {
    throw new UnsupportedVersionError(`The mail has version ${String(value.v)}; this IPMS reads version ${FORMAT_VERSION}. Upgrade IPMS to read it`)
  }
  const problem = mailProblem(value, { signed: true })
  if (problem !== undefined) throw new MalformedError(`The mail is malformed: ${problem}`)
  const mail = value as Mail
  let sender
  try {
    sender = parsePeerId(mail.from)
  } catch (err) {
    throw new MalformedError(`The mail's sender is not an IPMS address: ${(err as IpmsError).message}`, { cause: err })
  }
  if (sender.peerId !== mail.from) throw new MalformedError('The mail\'s sender is not written as a canonical peer-id (12D3KooW…)')
  if (!verifyMailSignature(mail, sender.publicKey)) {
    throw new BadSignatureError(`The mail claims to be from ${mail.from} but its signature does not verify: it is forged or damaged`)
  }
  // The address as written (§2: only the canonical form is written in a structure), never a
  // normalised one: another form of the reader's address is another encoding of the signed mail.
  if (mail.to !== identity.peerId) {
    throw new MisaddressedError(`The mail from ${mail.from} was written to ${mail.to}, not to ${identity.peerId}: it was forwarded or re-sealed by someone else`)
  }
  // The card it carries must be the sender's own, signed (whether it is still current is the user's business).
  if (mail.card !== undefined) {
    try {
      verifyCard(mail.card, { owner: mail.from })
    } catch (err) {
      throw new MalformedError(`The mail from ${mail.from} carries an address card that is not theirs or does not verify: ${(err as Error).message}`, { cause: err })
    }
  }
  return mail
}
