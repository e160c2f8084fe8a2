/**
 * The sealed envelope, v1 (docs/PROTOCOL.md §3): anonymous public-key encryption of a plaintext to
 * an Ed25519 peer-id, bound to one inbox.
 *
 *   esk, epk    = fresh X25519 key pair
 *   ownerX      = X25519 public key of the owner's Ed25519 key (RFC 7748 birational map)
 *   shared      = X25519(esk, ownerX), refused when all zero
 *   key         = HKDF-SHA256(ikm = shared, salt = epk ‖ ownerX, info = "ipms/envelope/v1", 32)
 *   ct          = XChaCha20-Poly1305(key, nonce (24 random bytes), pad(plaintext), AAD = utf8(inbox))
 *   block       = dag-cbor { v: 1, epk, nonce, ct }
 *
 * The envelope says nothing about its sender (the signature is inside) nor its recipient (only the
 * recipient's key opens it). The inbox address as AAD stops an envelope from being moved to another
 * inbox of the same owner (another difficulty, another rules version).
 *
 * Watch for: AEAD failure cannot by itself tell "not for me" from "altered"; `openEnvelope` decides
 * by whether the decrypted length prefix is consistent with the bucket size (a wrong key gives
 * random bytes), see `xchachaPeek`. That only chooses the error; both are refusals.
 */
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { ED25519_KEY_BYTES, FORMAT_VERSION, MAX_ENVELOPE_BYTES, POLY1305_TAG_BYTES, TAG_ENVELOPE, X25519_KEY_BYTES, XCHACHA_NONCE_BYTES } from '../constants.ts'
import { InvalidArgumentError, MalformedError, NotForRecipientError, TamperedError, TooLargeError, UnsupportedVersionError } from '../errors.ts'
import { concatBytes, decodeCbor, equalBytes, utf8Bytes } from './codec.ts'
import { ephemeralX25519, montgomeryPublic, x25519, x25519SecretFromSeed } from './keys.ts'
import { padParts, plausiblePrefix, unpad } from './padding.ts'
import { randomBytes } from './random.ts'
import { xchachaOpen, xchachaPeek, xchachaSealInto } from './xchacha.ts'
import { isBytes } from '../util/fields.ts'

/** The decoded envelope block. */
export interface Envelope {
  v: 1
  /** Ephemeral X25519 public key, 32 bytes. */
  epk: Uint8Array
  /** XChaCha20 nonce, 24 bytes. */
  nonce: Uint8Array
  /** Ciphertext of the padded plaintext, then the 16-byte Poly1305 tag. */
  ct: Uint8Array
}

/** Fixed randomness, for test vectors only: a real seal always draws fresh values. */
export interface SealRandomness {
  ephemeralSecret?: Uint8Array
  nonce?: Uint8Array
}

const INFO = utf8Bytes(TAG_ENVELOPE)
const ENVELOPE_KEYS = ['ct', 'epk', 'nonce', 'v']

function deriveKey (shared: Uint8Array, epk: Uint8Array, ownerX: Uint8Array): Uint8Array {
  return hkdf(sha256, shared, concatBytes(epk, ownerX), INFO, 32)
}

function recipientX25519 (ownerPublicKey: Uint8Array): Uint8Array {
  if (!(isBytes(ownerPublicKey)) || ownerPublicKey.byteLength !== ED25519_KEY_BYTES) {
    throw new InvalidArgumentError('The recipient key must be a 32-byte Ed25519 public key')
  }
  try {
    return montgomeryPublic(ownerPublicKey)
  } catch (err) {
    throw new InvalidArgumentError('The recipient key is not a valid Ed25519 public key', { cause: err })
  }
}

/** Seal `plaintext` to the owner of `ownerPublicKey` (raw Ed25519) for `inbox`; returns the block bytes. */
export function sealEnvelope (plaintext: Uint8Array, ownerPublicKey: Uint8Array, inbox: string, randomness: SealRandomness = {}): Uint8Array {
  const ownerX = recipientX25519(ownerPublicKey)
  const ephemeral = ephemeralX25519(randomness.ephemeralSecret)
  const shared = x25519(ephemeral.secret, ownerX)
  if (shared === undefined) throw new InvalidArgumentError('The recipient key is a small-order point; nothing can be sealed to it')
  const key = deriveKey(shared, ephemeral.publicKey, ownerX)
  shared.fill(0)
  const nonce = randomness.nonce ?? randomBytes(XCHACHA_NONCE_BYTES)
  const padded = padParts(plaintext)
  const paddedLength = padded.reduce((n, part) => n + part.byteLength, 0)
  const block = encodeEnvelopeBlock(ephemeral.publicKey, nonce, paddedLength + POLY1305_TAG_BYTES,
    (out, offset) => xchachaSealInto(key, nonce, padded, utf8Bytes(inbox), out, offset))
  key.fill(0)
  if (block.byteLength > MAX_ENVELOPE_BYTES) {
    throw new TooLargeError(`The sealed envelope would be ${block.byteLength} bytes, over the limit of ${MAX_ENVELOPE_BYTES}; send less or smaller attachments`)
  }
  return block
}

/** CBOR head of a major type with an unsigned argument (RFC 8949 §3), as dag-cbor writes it (shortest form). */
function cborHead (major: number, value: number): Uint8Array {
  const type = major << 5
  if (value < 24) return Uint8Array.of(type | value)
  if (value < 0x100) return Uint8Array.of(type | 24, value)
  if (value < 0x10000) return Uint8Array.of(type | 25, value >>> 8, value & 0xff)
  return Uint8Array.of(type | 26, value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff)
}
const cborText = (text: string): Uint8Array => concatBytes(cborHead(3, text.length), utf8Bytes(text))

// The canonical dag-cbor layout of `{ v: 1, epk, nonce, ct }` (keys by length: v, ct, epk, nonce):
//   a4 'v' 01 'ct' <bytes head> ct ‖ 'epk' 58 20 epk ‖ 'nonce' 58 18 nonce
const EPK_KEY = concatBytes(cborText('epk'), cborHead(2, X25519_KEY_BYTES))
const NONCE_KEY = concatBytes(cborText('nonce'), cborHead(2, XCHACHA_NONCE_BYTES))
const TAIL_BYTES = EPK_KEY.byteLength + X25519_KEY_BYTES + NONCE_KEY.byteLength + XCHACHA_NONCE_BYTES

function envelopeHead (ctLength: number): Uint8Array {
  return concatBytes(cborHead(5, 4), cborText('v'), cborHead(0, FORMAT_VERSION), cborText('ct'), cborHead(2, ctLength))
}

/**
 * dag-cbor of the envelope, written straight into one buffer with the ciphertext encrypted in
 * place by `writeCt`: for a megabyte mail this saves two full copies and an encoder pass.
 * test/crypto/envelope.test.ts checks it against @ipld/dag-cbor byte for byte.
 */
function encodeEnvelopeBlock (epk: Uint8Array, nonce: Uint8Array, ctLength: number, writeCt: (out: Uint8Array, offset: number) => void): Uint8Array {
  const head = envelopeHead(ctLength)
  // Unpooled and unzeroed: every byte is written below.
  const out = new Uint8Array(Buffer.allocUnsafeSlow(head.byteLength + ctLength + TAIL_BYTES).buffer)
  out.set(head, 0)
  writeCt(out, head.byteLength)
  let offset = head.byteLength + ctLength
  for (const part of [EPK_KEY, epk, NONCE_KEY, nonce]) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}

/**
 * Views into `bytes` when they are exactly the canonical encoding of a v1 envelope, else undefined.
 * dag-cbor has one encoding per value, so every valid v1 envelope takes this path, without the
 * megabyte copy the generic decoder makes of `ct`; anything else goes to the generic decoder,
 * which says what is wrong.
 */
function viewCanonicalEnvelope (bytes: Uint8Array): Envelope | undefined {
  const info = bytes[7]
  if (info === undefined) return undefined
  const headLength = info === 0x59 ? 10 : info === 0x5a ? 12 : 0 // 2- or 4-byte length: every ct ≥ 1 KiB
  if (headLength === 0 || bytes.byteLength < headLength) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const ctLength = headLength === 10 ? view.getUint16(8) : view.getUint32(8)
  if (ctLength < POLY1305_TAG_BYTES || headLength + ctLength + TAIL_BYTES !== bytes.byteLength) return undefined
  if (!equalBytes(bytes.subarray(0, headLength), envelopeHead(ctLength))) return undefined
  const epkAt = headLength + ctLength + EPK_KEY.byteLength
  const nonceAt = epkAt + X25519_KEY_BYTES + NONCE_KEY.byteLength
  if (!equalBytes(bytes.subarray(epkAt - EPK_KEY.byteLength, epkAt), EPK_KEY) ||
    !equalBytes(bytes.subarray(nonceAt - NONCE_KEY.byteLength, nonceAt), NONCE_KEY)) return undefined
  return {
    v: FORMAT_VERSION,
    ct: bytes.subarray(headLength, headLength + ctLength),
    epk: bytes.subarray(epkAt, epkAt + X25519_KEY_BYTES),
    nonce: bytes.subarray(nonceAt, nonceAt + XCHACHA_NONCE_BYTES)
  }
}

/** Decode and shape-check an envelope block (size cap → decode → version → fields). */
export function decodeEnvelope (bytes: Uint8Array): Envelope {
  if (isBytes(bytes) && bytes.byteLength <= MAX_ENVELOPE_BYTES) {
    const canonical = viewCanonicalEnvelope(bytes)
    if (canonical !== undefined) return canonical
  }
  const value = decodeCbor(bytes, MAX_ENVELOPE_BYTES, 'envelope')
  if (typeof value !== 'object' || value === null || Array.isArray(value) || isBytes(value)) {
    throw new MalformedError('The envelope is not a map')
  }
  const fields = value as Record<string, unknown>
  if (fields.v !== FORMAT_VERSION) {
    throw new UnsupportedVersionError(`The envelope has version ${String(fields.v)}; this IPMS reads version ${FORMAT_VERSION}. Upgrade IPMS to read it`)
  }
  const keys = Object.keys(fields).sort()
  if (keys.length !== ENVELOPE_KEYS.length || keys.some((k, i) => k !== ENVELOPE_KEYS[i])) {
    throw new MalformedError(`The envelope must have exactly the fields ${ENVELOPE_KEYS.join(', ')}`)
  }
  const { epk, nonce, ct } = fields
  if (!(isBytes(epk)) || epk.byteLength !== X25519_KEY_BYTES) throw new MalformedError('The envelope epk must be 32 bytes')
  if (!(isBytes(nonce)) || nonce.byteLength !== XCHACHA_NONCE_BYTES) throw new MalformedError('The envelope nonce must be 24 bytes')
  if (!(isBytes(ct)) || ct.byteLength < POLY1305_TAG_BYTES) throw new MalformedError('The envelope ciphertext is shorter than its tag')
  return { v: FORMAT_VERSION, epk, nonce, ct }
}

/**
 * Open an envelope with the owner's Ed25519 seed; returns the unpadded plaintext.
 * Errors: NotForRecipientError (another key, or a damaged header), TamperedError (altered
 * ciphertext or another inbox), MalformedError (bad padding).
 */
export function openEnvelope (envelope: Envelope, ownerSeed: Uint8Array, ownerPublicKey: Uint8Array, inbox: string): Uint8Array {
  const ownerX = recipientX25519(ownerPublicKey)
  const shared = x25519(x25519SecretFromSeed(ownerSeed), envelope.epk)
  if (shared === undefined) throw new NotForRecipientError('The envelope has an invalid ephemeral key; it cannot be opened by anyone')
  const key = deriveKey(shared, envelope.epk, ownerX)
  shared.fill(0)
  try {
    const padded = xchachaOpen(key, envelope.nonce, envelope.ct, utf8Bytes(inbox))
    if (padded !== undefined) return unpad(padded)
    const total = envelope.ct.byteLength - POLY1305_TAG_BYTES
    if (plausiblePrefix(xchachaPeek(key, envelope.nonce, envelope.ct, 4), total)) {
      throw new TamperedError('The envelope was sealed to this key but its ciphertext was altered (or it belongs to another inbox of this owner); it was refused')
    }
    throw new NotForRecipientError('The envelope was not sealed to this identity (or its header is damaged); only its recipient can open it')
  } finally {
    key.fill(0)
  }
}
