/**
 * Peer-id helpers: an IPMS address is the libp2p peer-id of an Ed25519 key (`12D3KooW…`).
 * See docs/PROTOCOL.md, "Addresses".
 *
 * The public key is inside the peer-id (identity multihash of the protobuf `{Type: Ed25519, Data:
 * pub}`), so parsing an address is all it takes to encrypt to it or verify its signatures.
 *
 * Watch out for:
 * - Peer-ids arrive from untrusted places (mail headers, CLI arguments, address cards).
 *   `parsePeerId` never throws anything but `InvalidPeerIdError` / `UnsupportedKeyTypeError`, for
 *   any input, including non-strings.
 * - One key must have exactly one address (inbox addresses are derived from the string). So the
 *   CIDv1 form (`bafz…`, `k51…`) is normalised to base58btc, and a base58btc string whose
 *   multihash is not the canonical encoding of its key (extra protobuf fields …) is refused.
 * - The key must be a valid curve point outside the small-order subgroup: nobody holds the secret
 *   of anything else, so such an address could never read its mail.
 */
import { publicKeyFromMultihash, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromString, peerIdFromPublicKey as libp2pPeerIdFromPublicKey } from '@libp2p/peer-id'
import { ed25519 } from '@noble/curves/ed25519.js'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { ED25519_KEY_BYTES } from '../constants.ts'
import { concatBytes, equalBytes } from '../crypto/codec.ts'
import { InvalidArgumentError, InvalidPeerIdError, UnsupportedKeyTypeError } from '../errors.ts'

/** A parsed IPMS address. */
export interface ParsedPeerId {
  /** Canonical base58btc peer-id string (`12D3KooW…`, 52 characters). */
  peerId: string
  /** Raw 32-byte Ed25519 public key. A fresh copy on every call: callers may keep or alter it. */
  publicKey: Uint8Array
}

/** Longest input looked at. Real peer-ids are 46–62 characters; anything longer is not one. */
const MAX_PEER_ID_CHARS = 256
/** Parsed peer-ids kept (about 100 bytes each); peer-ids are parsed on every mail. */
const CACHE_SIZE = 1024
/** Identity multihash (0x00, 36 bytes) of protobuf `{Type: 1 (Ed25519), Data: 32 bytes}`. */
const ED25519_MULTIHASH_PREFIX = Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20])
const ADDRESS_HINT = 'IPMS addresses are Ed25519 peer-ids (12D3KooW…)'
/** Key types libp2p knows and IPMS refuses, with their article. */
const KEY_TYPE_NAMES: Record<string, string> = { RSA: 'an RSA', secp256k1: 'a secp256k1', ECDSA: 'an ECDSA' }

const cache = new Map<string, { peerId: string, publicKey: Uint8Array }>()

/**
 * Parse an IPMS address: a base58btc (`12D3KooW…`) or CIDv1 (`bafz…`, `k51…`) Ed25519 peer-id,
 * surrounding whitespace ignored. Throws `InvalidPeerIdError` for anything that is not a peer-id,
 * `UnsupportedKeyTypeError` for an RSA, secp256k1 or ECDSA peer-id.
 */
export function parsePeerId (text: string): ParsedPeerId {
  if (typeof text !== 'string') {
    throw new InvalidPeerIdError(`A peer-id must be a string, got ${text === null ? 'null' : typeof text}; ${ADDRESS_HINT}`)
  }
  const input = text.trim()
  const hit = cache.get(input)
  if (hit !== undefined) {
    // Refresh its place so that the cache evicts the least recently used entry.
    cache.delete(input)
    cache.set(input, hit)
    return { peerId: hit.peerId, publicKey: hit.publicKey.slice() }
  }
  const parsed = parseUncached(input)
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!)
  cache.set(input, parsed)
  return { peerId: parsed.peerId, publicKey: parsed.publicKey.slice() }
}

/** The peer-id string of a raw 32-byte Ed25519 public key (`InvalidArgumentError` if it is not one). */
export function peerIdFromPublicKey (publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array) || publicKey.byteLength !== ED25519_KEY_BYTES) {
    throw new InvalidArgumentError(`An Ed25519 public key is ${ED25519_KEY_BYTES} bytes; got ${describe(publicKey)}`)
  }
  if (!isUsableEd25519Point(publicKey)) throw new InvalidArgumentError('These 32 bytes are not a usable Ed25519 public key')
  return libp2pPeerIdFromPublicKey(publicKeyFromRaw(publicKey)).toString()
}

function parseUncached (input: string): { peerId: string, publicKey: Uint8Array } {
  if (input === '') throw new InvalidPeerIdError(`The peer-id is empty; ${ADDRESS_HINT}`)
  if (input.length > MAX_PEER_ID_CHARS) {
    throw new InvalidPeerIdError(`A peer-id of ${input.length} characters is not a peer-id; ${ADDRESS_HINT}`)
  }
  const shown = JSON.stringify(input.length > 80 ? `${input.slice(0, 77)}...` : input)
  let peer
  try {
    peer = peerIdFromString(input)
  } catch (err) {
    // libp2p cannot represent ECDSA peer-ids and reports them as a bad multihash: look closer.
    if (isEcdsaPeerId(input)) throw unsupported(shown, 'an ECDSA')
    throw new InvalidPeerIdError(`${shown} is not a peer-id; ${ADDRESS_HINT}`, { cause: err })
  }
  if (peer.type !== 'Ed25519') {
    const name = KEY_TYPE_NAMES[peer.type]
    if (name !== undefined) throw unsupported(shown, name)
    throw new InvalidPeerIdError(`${shown} is a ${peer.type} peer-id, not a key; ${ADDRESS_HINT}`)
  }
  const publicKey = peer.publicKey.raw.slice()
  if (!equalBytes(peer.toMultihash().bytes, concatBytes(ED25519_MULTIHASH_PREFIX, publicKey))) {
    throw new InvalidPeerIdError(`${shown} does not encode its key in the canonical form; ${ADDRESS_HINT}`)
  }
  if (!isUsableEd25519Point(publicKey)) {
    throw new InvalidPeerIdError(`${shown} holds a value that is not a usable Ed25519 public key; ${ADDRESS_HINT}`)
  }
  return { peerId: peer.toString(), publicKey }
}

function unsupported (shown: string, type: string): UnsupportedKeyTypeError {
  return new UnsupportedKeyTypeError(`${shown} is the peer-id of ${type} key; ${ADDRESS_HINT}. Ask the owner for their IPMS address`)
}

function isEcdsaPeerId (input: string): boolean {
  try {
    const multihash = input.startsWith('1')
      ? Digest.decode(base58btc.decode(`z${input}`))
      : CID.parse(input).multihash
    // @libp2p/crypto types its argument with its own multiformats copy: the shapes are the same.
    return multihash.code === 0x00 && publicKeyFromMultihash(multihash as unknown as Parameters<typeof publicKeyFromMultihash>[0]).type === 'ECDSA'
  } catch {
    return false
  }
}

/** A point on the curve, canonically encoded, not of small order (RFC 8032 §5.1.3 decoding). */
function isUsableEd25519Point (publicKey: Uint8Array): boolean {
  try {
    return !ed25519.Point.fromBytes(publicKey).isSmallOrder()
  } catch {
    return false
  }
}

function describe (value: unknown): string {
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`
  return value === null ? 'null' : typeof value
}

/** A peer-id shortened for people: `12D3KooWAbCd…wXyZ`. */
export { shortPeer } from './short-peer.ts'
