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
import { concatBytes, decodeCbor, utf8Bytes } from './codec.ts'
import { ephemeralX25519, montgomeryPublic, x25519, x25519SecretFromSeed } from './keys.ts'
import { pad, plausiblePrefix, unpad } from './padding.ts'
import { randomBytes } from './random.ts'
import { xchachaOpen, xchachaPeek, xchachaSealInto } from './xchacha.ts'

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
  if (!(ownerPublicKey instanceof Uint8Array) || ownerPublicKey.byteLength !== ED25519_KEY_BYTES) {
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
  const padded = pad(plaintext)
  const block = encodeEnvelopeBlock(ephemeral.publicKey, nonce, padded.byteLength + POLY1305_TAG_BYTES,
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
const cborBytes = (bytes: Uint8Array): Uint8Array => concatBytes(cborHead(2, bytes.byteLength), bytes)

/**
 * dag-cbor of `{ v: 1, epk, nonce, ct }`, written straight into one buffer with the ciphertext
 * encrypted in place by `writeCt`: for a megabyte mail this saves two full copies and an encoder
 * pass over what `encodeCbor` would do. Keys in dag-cbor order (length first): v, ct, epk, nonce.
 * test/crypto/envelope.test.ts checks it against @ipld/dag-cbor byte for byte.
 */
function encodeEnvelopeBlock (epk: Uint8Array, nonce: Uint8Array, ctLength: number, writeCt: (out: Uint8Array, offset: number) => void): Uint8Array {
  const head = concatBytes(cborHead(5, 4), cborText('v'), cborHead(0, FORMAT_VERSION), cborText('ct'), cborHead(2, ctLength))
  const tail = concatBytes(cborText('epk'), cborBytes(epk), cborText('nonce'), cborBytes(nonce))
  // Unpooled and unzeroed: every byte is written below.
  const out = new Uint8Array(Buffer.allocUnsafeSlow(head.byteLength + ctLength + tail.byteLength).buffer)
  out.set(head, 0)
  writeCt(out, head.byteLength)
  out.set(tail, head.byteLength + ctLength)
  return out
}

/** Decode and shape-check an envelope block (size cap → decode → version → fields). */
export function decodeEnvelope (bytes: Uint8Array): Envelope {
  const value = decodeCbor(bytes, MAX_ENVELOPE_BYTES, 'envelope')
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
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
  if (!(epk instanceof Uint8Array) || epk.byteLength !== X25519_KEY_BYTES) throw new MalformedError('The envelope epk must be 32 bytes')
  if (!(nonce instanceof Uint8Array) || nonce.byteLength !== XCHACHA_NONCE_BYTES) throw new MalformedError('The envelope nonce must be 24 bytes')
  if (!(ct instanceof Uint8Array) || ct.byteLength < POLY1305_TAG_BYTES) throw new MalformedError('The envelope ciphertext is shorter than its tag')
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
