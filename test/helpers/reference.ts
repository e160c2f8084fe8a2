/**
 * A second, independent implementation of IPMS v1, written only with @noble/* (pure JS),
 * @ipld/dag-cbor and multiformats, straight from docs/PROTOCOL.md: the envelope and the mail
 * signature, and every other signed, hashed or framed format (addresses, inbox address, stamps,
 * MAIL/PRUNE payloads, entries, grants, cards, passes, receipts, frames, the DHT validator). The optimised code in
 * src/ (node:crypto, caches, pools) must produce byte-identical output: the vectors and
 * test/crypto/envelope.test.ts check that. Slow on purpose; never used outside tests.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { xchacha20, xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { scrypt } from '@noble/hashes/scrypt.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { multiaddr } from '@multiformats/multiaddr'
import { base36 } from 'multiformats/bases/base36'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let offset = 0
  for (const part of parts) { out.set(part, offset); offset += part.byteLength }
  return out
}

/** tag ‖ 0x00 ‖ payload */
export function referenceTagged (tag: string, payload: Uint8Array): Uint8Array {
  return concat(utf8(tag), new Uint8Array([0]), payload)
}

/** The padded size, written from the spec's table rather than shared with src/. */
export function referencePaddedSize (n: number): number {
  if (n <= 1024) return 1024
  if (n <= 65536) { let size = 1024; while (size < n) size *= 2; return size }
  const e = Math.floor(Math.log2(n))
  const s = Math.floor(Math.log2(e)) + 1
  const step = 2 ** (e - s)
  return Math.ceil(n / step) * step
}

export function referencePad (plaintext: Uint8Array): Uint8Array {
  const out = new Uint8Array(referencePaddedSize(4 + plaintext.byteLength))
  out[0] = plaintext.byteLength >>> 24; out[1] = (plaintext.byteLength >>> 16) & 0xff
  out[2] = (plaintext.byteLength >>> 8) & 0xff; out[3] = plaintext.byteLength & 0xff
  out.set(plaintext, 4)
  return out
}

/** Sign an unsigned mail map (a plain object) with a 32-byte seed; returns the signed map. */
export function referenceSignMail (unsigned: Record<string, unknown>, seed: Uint8Array): Record<string, unknown> {
  const digest = sha256(dagCbor.encode(unsigned))
  const sig = ed25519.sign(referenceTagged('ipms/mail/v1', digest), seed)
  return { ...unsigned, sig }
}

/** Seal plaintext bytes to a raw Ed25519 public key for an inbox, with the given randomness. */
export function referenceSeal (plaintext: Uint8Array, ownerEd: Uint8Array, inbox: string, esk: Uint8Array, nonce: Uint8Array): Uint8Array {
  return referenceSealPadded(referencePad(plaintext), ownerEd, inbox, esk, nonce)
}

/** §3.1 steps 1–4: the recipient's X25519 key, the ephemeral public key, the shared secret and the key. */
export function referenceEnvelopeKey (ownerEd: Uint8Array, esk: Uint8Array): { ownerX: Uint8Array, epk: Uint8Array, shared: Uint8Array, key: Uint8Array } {
  const ownerX = ed25519.utils.toMontgomery(ownerEd)
  const epk = x25519.getPublicKey(esk)
  const shared = x25519.getSharedSecret(esk, ownerX)
  return { ownerX, epk, shared, key: hkdf(sha256, shared, concat(epk, ownerX), utf8('ipms/envelope/v1'), 32) }
}

/** Seal bytes that are already padded (or deliberately mis-padded, for tests of the reader). */
export function referenceSealPadded (padded: Uint8Array, ownerEd: Uint8Array, inbox: string, esk: Uint8Array, nonce: Uint8Array): Uint8Array {
  const { epk, key } = referenceEnvelopeKey(ownerEd, esk)
  const ct = xchacha20poly1305(key, nonce, utf8(inbox)).encrypt(padded)
  return dagCbor.encode({ v: 1, epk, nonce, ct })
}

/** Open with the owner's seed; returns the unpadded plaintext (throws on any failure). */
export function referenceOpen (envelope: Uint8Array, ownerSeed: Uint8Array, inbox: string): Uint8Array {
  const { epk, nonce, ct } = dagCbor.decode(envelope) as { epk: Uint8Array, nonce: Uint8Array, ct: Uint8Array }
  const ownerX = ed25519.utils.toMontgomery(ed25519.getPublicKey(ownerSeed))
  const shared = x25519.getSharedSecret(ed25519.utils.toMontgomerySecret(ownerSeed), epk)
  const key = hkdf(sha256, shared, concat(epk, ownerX), utf8('ipms/envelope/v1'), 32)
  const padded = xchacha20poly1305(key, nonce, utf8(inbox)).decrypt(ct)
  const length = (padded[0]! << 24 | padded[1]! << 16 | padded[2]! << 8 | padded[3]!) >>> 0
  return padded.subarray(4, 4 + length)
}

// ── Everything else that is signed, hashed or framed (PROTOCOL §2, §5, §9–§12, §14) ─────────────
// Written from the spec's text: the byte layouts, tags and checks in the order the spec gives
// them, with the error code it names. Slow and plain; every check returns a code, never throws
// on hostile input (a thrown RefError carries the code).

/** A refusal with the spec's error code (§8). */
export class RefError extends Error {
  readonly code: string
  constructor (code: string, message: string) { super(message); this.code = code }
}

const refuse = (code: string, message: string): never => { throw new RefError(code, message) }
const ED25519_PEER_PREFIX = Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20])

/** §2: the address of a raw Ed25519 public key. */
export function referencePeerId (publicKey: Uint8Array): string {
  return base58btc.baseEncode(concat(ED25519_PEER_PREFIX, publicKey))
}

/** §2: the public key inside an address written canonically (base58btc); RefError otherwise. */
export function referencePeerKey (text: unknown): Uint8Array {
  if (typeof text !== 'string') return refuse('ERR_INVALID_PEER_ID', 'not a string')
  if (text.startsWith('Qm')) return refuse('ERR_UNSUPPORTED_KEY_TYPE', 'an RSA (sha2-256) peer-id')
  let bytes: Uint8Array
  try { bytes = base58btc.baseDecode(text) } catch { return refuse('ERR_INVALID_PEER_ID', 'not base58btc') }
  if (bytes.length !== 38 || !ED25519_PEER_PREFIX.every((b, i) => bytes[i] === b)) {
    // an identity multihash of another key type: 0x00 len 0x08 type
    return bytes[0] === 0 && bytes[2] === 0x08 && bytes[3] !== 0x01 ? refuse('ERR_UNSUPPORTED_KEY_TYPE', 'not an Ed25519 key') : refuse('ERR_INVALID_PEER_ID', 'not an Ed25519 identity multihash')
  }
  const key = bytes.subarray(6)
  let usable = false
  try { usable = !ed25519.Point.fromBytes(key).isSmallOrder() } catch { usable = false }
  if (!usable) refuse('ERR_INVALID_PEER_ID', 'not a usable point (off the curve, or of small order)')
  return key
}

/** §2: an address given as input in any accepted form (base58btc, or CIDv1 libp2p-key in base32 or base36), in its canonical form. */
export function referenceNormalPeer (text: string): string {
  if (text.startsWith('b') || text.startsWith('k')) {
    let cid: CID
    try { cid = CID.parse(text, text.startsWith('k') ? base36 : undefined) } catch { return refuse('ERR_INVALID_PEER_ID', 'not a CID') }
    if (cid.version !== 1 || cid.code !== 0x72) refuse('ERR_INVALID_PEER_ID', 'not a libp2p-key CID')
    text = base58btc.baseEncode(cid.multihash.bytes)
  }
  referencePeerKey(text)
  return text
}

/** CIDv1, dag-cbor, sha2-256 of a block. */
export function referenceCid (block: Uint8Array): CID {
  return CID.create(1, 0x71, Digest.create(0x12, sha256(block)))
}

/** §9.1: the access block, manifest and inbox address of `owner` at `bits`. */
export function referenceInbox (owner: string, bits: number): { accessBlock: Uint8Array, accessAddress: string, manifest: Uint8Array, inbox: string } {
  if (!Number.isInteger(bits) || bits < 0 || bits > 40) refuse('ERR_INVALID_ARGUMENT', 'bits 0–40')
  owner = referenceNormalPeer(owner)
  const accessBlock = dagCbor.encode({ type: 'ipms-inbox', owner, bits, rules: 2 })
  const accessAddress = '/ipms-inbox/' + referenceCid(accessBlock).toString(base58btc)
  const manifest = dagCbor.encode({ name: 'ipms/' + owner, type: 'ipms-mailbox', accessController: accessAddress })
  return { accessBlock, accessAddress, manifest, inbox: '/orbitdb/' + referenceCid(manifest).toString(base58btc) }
}

const u16be = (n: number): Uint8Array => Uint8Array.from([n >>> 8, n & 0xff])
const u64be = (n: number): Uint8Array => { const out = new Uint8Array(8); new DataView(out.buffer).setBigUint64(0, BigInt(n)); return out }
const lp = (x: Uint8Array): Uint8Array => concat(u16be(x.byteLength), x)

/** §5.2: the stamp's difficulty for an envelope of `size` bytes in an inbox of `bits`. */
export const referenceRequiredBits = (bits: number, size: number): number => bits + Math.max(0, Math.floor(Math.log2(size)) - 16)

/** §5: the challenge. */
export function referencePowChallenge (bits: number, ts: number, inbox: string, env: string): Uint8Array {
  return sha256(concat(utf8('ipms/pow/v1'), new Uint8Array([0, bits]), u64be(ts), lp(utf8(inbox)), lp(CID.parse(env).bytes)))
}

function leadingZeros (hash: Uint8Array): number {
  let n = 0
  for (const byte of hash) { if (byte === 0) { n += 8; continue } return n + Math.clz32(byte) - 24 }
  return n
}

/** §5: whether `nonce` stamps `challenge` at `bits`. */
export const referencePowValid = (challenge: Uint8Array, bits: number, nonce: Uint8Array): boolean => leadingZeros(sha256(concat(challenge, nonce))) >= bits

/** §5: the first nonce (counting up from 0, big-endian) that stamps `challenge` at `bits`. */
export function referenceSolve (challenge: Uint8Array, bits: number): Uint8Array {
  for (let i = 0; ; i++) { const nonce = u64be(i); if (referencePowValid(challenge, bits, nonce)) return nonce }
}

/** §1: decode untrusted dag-cbor strictly: item bounds, then canonical re-encoding; RefError ERR_MALFORMED. */
export function referenceDecode (bytes: Uint8Array, maxItems = 4096, maxDepth = 8): unknown {
  // Walk the headers (RFC 8949 §3) before decoding anything.
  const stack = [1]; let items = 0; let pos = 0
  while (stack.length > 0) {
    if (stack[stack.length - 1] === 0) { stack.pop(); continue }
    stack[stack.length - 1]!--
    if (++items > maxItems || pos >= bytes.length) refuse('ERR_MALFORMED', 'too many items, or truncated')
    const major = bytes[pos]! >> 5; const info = bytes[pos++]! & 31
    let arg = info
    if (info >= 28) refuse('ERR_MALFORMED', 'indefinite length or reserved header')
    if (info >= 24) { const w = 1 << (info - 24); arg = 0; for (let i = 0; i < w; i++) arg = arg * 256 + (bytes[pos + i] ?? 0); pos += w }
    if (major === 2 || major === 3) pos += arg
    if (major === 4 || major === 5) {
      const count = major === 5 ? 2 * arg : arg
      if (count > maxItems - items) refuse('ERR_MALFORMED', 'too many items')
      if (count > 0) { if (stack.length > maxDepth) refuse('ERR_MALFORMED', 'too deep'); stack.push(count) }
    }
    if (major === 6) stack[stack.length - 1]!++
  }
  if (pos !== bytes.length) refuse('ERR_MALFORMED', 'trailing bytes')
  let value: unknown
  try { value = dagCbor.decode(bytes) } catch { return refuse('ERR_MALFORMED', 'not dag-cbor') }
  let again: Uint8Array | undefined
  try { again = dagCbor.encode(value) } catch { again = undefined }
  if (again === undefined || again.length !== bytes.length || !again.every((b, i) => b === bytes[i])) refuse('ERR_MALFORMED', 'not canonical')
  return value
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && Object.getPrototypeOf(v) === Object.prototype
const keysAre = (m: Record<string, unknown>, keys: string[]): boolean => Object.keys(m).length === keys.length && keys.every(k => Object.hasOwn(m, k))
const isMs = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isBytesOf = (v: unknown, n?: number): v is Uint8Array => v instanceof Uint8Array && (n === undefined || v.length === n)

/** A canonical CIDv1 dag-cbor sha2-256 string: base32 (`bafy…`, envelopes) or base58btc (`zdpu…`, entries). */
export function isCanonicalCid (text: unknown, base: 'base32' | 'base58btc'): boolean {
  if (typeof text !== 'string' || text.length > 100) return false
  try {
    const cid = base === 'base58btc' ? CID.parse(text, base58btc) : CID.parse(text)
    return cid.version === 1 && cid.code === 0x71 && cid.multihash.code === 0x12 && (base === 'base58btc' ? cid.toString(base58btc) : cid.toString()) === text
  } catch { return false }
}

/** §9.2, §5.2: check a MAIL payload for `inbox` at `bits`: ERR_MALFORMED, ERR_BAD_POW. */
export function referenceCheckMail (p: unknown, inbox: string, bits: number): void {
  if (!isMap(p) || p.op !== 'MAIL' || p.v !== 1 || !keysAre(p, ['op', 'v', 'env', 'size', 'ts', 'pow'])) return refuse('ERR_MALFORMED', 'not a v1 MAIL payload')
  if (!isCanonicalCid(p.env, 'base32')) refuse('ERR_MALFORMED', 'env')
  if (!isMs(p.size) || p.size < 1 || p.size > 4 * 1024 * 1024) refuse('ERR_MALFORMED', 'size')
  if (!isMs(p.ts)) refuse('ERR_MALFORMED', 'ts')
  if (!isBytesOf(p.pow, 8)) refuse('ERR_MALFORMED', 'pow')
  const required = referenceRequiredBits(bits, p.size as number)
  if (!referencePowValid(referencePowChallenge(required, p.ts as number, inbox, p.env as string), required, p.pow as Uint8Array)) refuse('ERR_BAD_POW', 'stamp')
}

/** §9.2: the bytes the owner signs for a PRUNE. */
export const referencePruneInput = (inbox: string, entries: string[], ts: number): Uint8Array => referenceTagged('ipms/prune/v1', dagCbor.encode({ inbox, entries, ts }))

/** §9.2: check a PRUNE payload for `inbox` of `owner`: ERR_MALFORMED, ERR_BAD_SIGNATURE. */
export function referenceCheckPrune (p: unknown, inbox: string, owner: string): void {
  if (!isMap(p) || p.op !== 'PRUNE' || p.v !== 1 || !keysAre(p, ['op', 'v', 'entries', 'ts', 'sig'])) return refuse('ERR_MALFORMED', 'not a v1 PRUNE payload')
  const entries = p.entries
  if (!Array.isArray(entries) || entries.length < 1 || entries.length > 1000 || !entries.every(e => isCanonicalCid(e, 'base58btc')) || new Set(entries).size !== entries.length) refuse('ERR_MALFORMED', 'entries')
  if (!isMs(p.ts) || !isBytesOf(p.sig, 64)) refuse('ERR_MALFORMED', 'ts or sig')
  let ok = false
  try { ok = ed25519.verify(p.sig as Uint8Array, referencePruneInput(inbox, entries as string[], p.ts as number), referencePeerKey(owner)) } catch { ok = false }
  if (!ok) refuse('ERR_BAD_SIGNATURE', 'not the owner\'s')
}

/** §11: the three owner-signed records. */
export const RECORD_KINDS = {
  grant: { prefix: 'ipmsgrant', tag: 'ipms/grant/v1', expiredCode: 'ERR_GRANT_EXPIRED' },
  card: { prefix: 'ipmscard', tag: 'ipms/card/v1', expiredCode: undefined },
  pass: { prefix: 'ipmspass', tag: 'ipms/pass/v1', expiredCode: 'ERR_PASS_EXPIRED' }
} as const
export type RecordKind = keyof typeof RECORD_KINDS

/** §11: sign a record's fields (without v, owner, sig) with the owner's seed. */
export function referenceSignRecord (kind: RecordKind, seed: Uint8Array, fields: Record<string, unknown>): { signingInput: Uint8Array, record: Record<string, unknown>, bytes: Uint8Array, text: string } {
  const unsigned = { ...fields, v: 1, owner: referencePeerId(ed25519.getPublicKey(seed)) }
  const signingInput = referenceTagged(RECORD_KINDS[kind].tag, dagCbor.encode(unsigned))
  const record = { ...unsigned, sig: ed25519.sign(signingInput, seed) }
  const bytes = dagCbor.encode(record)
  return { signingInput, record, bytes, text: RECORD_KINDS[kind].prefix + base58btc.encode(bytes) }
}

/** §11.2: a multiaddr of at most 256 characters, not ending in /p2p (the card names the peer). */
function isMultiaddrText (v: unknown): boolean {
  if (typeof v !== 'string' || v.length > 256) return false
  try { return multiaddr(v).getComponents().at(-1)?.name !== 'p2p' } catch { return false }
}

/** §2: a canonical address (the base58btc form of an Ed25519 key). */
function isCanonicalPeer (v: unknown): boolean {
  try { return referencePeerId(referencePeerKey(v)) === v } catch { return false }
}

function recordFieldsProblem (kind: RecordKind, r: Record<string, unknown>): string | undefined {
  const allowed = kind === 'card' ? ['v', 'owner', 'bits', 'hosts', 'ts', 'expires', 'sig'] : ['v', 'owner', 'issued', 'expires', 'sig', kind === 'grant' ? 'host' : 'id']
  if (Object.keys(r).some(k => !allowed.includes(k))) return 'unknown field'
  if (kind === 'card') {
    if (typeof r.bits !== 'number' || !Number.isInteger(r.bits) || r.bits < 0 || r.bits > 40) return 'bits'
    if (!isMs(r.ts)) return 'ts'
    if ('expires' in r && (!isMs(r.expires) || r.expires <= r.ts)) return 'expires'
    if (!Array.isArray(r.hosts) || r.hosts.length > 16) return 'hosts'
    for (const h of r.hosts as unknown[]) {
      if (!isMap(h) || !keysAre(h, ['peer', 'addrs']) || !Array.isArray(h.addrs) || h.addrs.length > 8 || !h.addrs.every(isMultiaddrText)) return 'a host'
      if (!isCanonicalPeer(h.peer)) return 'a host peer'
    }
  } else {
    if (kind === 'grant' && !isCanonicalPeer(r.host)) return 'host'
    if (kind === 'pass' && !isBytesOf(r.id, 16)) return 'id'
    if (!isMs(r.issued)) return 'issued'
    if ('expires' in r && (!isMs(r.expires) || r.expires <= r.issued)) return 'expires'
  }
  if (!(r.sig instanceof Uint8Array)) return 'sig'
  return undefined
}

/** §11: read a record from text (or bytes), in the spec's order; `now` for the expiry of grants and passes. */
export function referenceVerifyRecord (kind: RecordKind, input: string | Uint8Array, options: { now?: number, host?: string, owner?: string } = {}): Record<string, unknown> {
  const { prefix, tag, expiredCode } = RECORD_KINDS[kind]
  let bytes: Uint8Array
  if (typeof input === 'string') {
    if (!input.startsWith(prefix)) refuse('ERR_INVALID_RECORD', 'prefix')
    if (input.length > 16 * 1024) refuse('ERR_INVALID_RECORD', 'too long')
    try { bytes = base58btc.decode(input.slice(prefix.length)) } catch { return refuse('ERR_INVALID_RECORD', 'base58btc') }
  } else bytes = input
  if (bytes.length > 8192) refuse('ERR_INVALID_RECORD', 'over 8 KiB')
  let r: unknown
  try { r = referenceDecode(bytes) } catch { return refuse('ERR_INVALID_RECORD', 'dag-cbor') }
  if (!isMap(r)) return refuse('ERR_INVALID_RECORD', 'not a map')
  if (r.v !== 1) refuse('ERR_UNSUPPORTED_VERSION', 'v')
  const problem = recordFieldsProblem(kind, r)
  if (problem !== undefined) refuse('ERR_INVALID_RECORD', problem)
  let ownerKey: Uint8Array
  try { ownerKey = referencePeerKey(r.owner); if (referencePeerId(ownerKey) !== r.owner) throw new Error('not canonical') } catch { return refuse('ERR_INVALID_RECORD', 'owner') }
  const { sig, ...unsigned } = r
  if (!ed25519.verify(sig as Uint8Array, referenceTagged(tag, dagCbor.encode(unsigned)), ownerKey)) refuse('ERR_INVALID_RECORD', 'signature')
  if (options.host !== undefined && r.host !== options.host) refuse('ERR_INVALID_RECORD', 'another host')
  if (options.owner !== undefined && r.owner !== options.owner) refuse('ERR_INVALID_RECORD', 'another owner')
  if (expiredCode !== undefined && options.now !== undefined && typeof r.expires === 'number' && r.expires <= options.now) refuse(expiredCode, 'expired')
  return r
}

/** §12: a receipt signed by the host's seed. */
export function referenceSignReceipt (seed: Uint8Array, fields: { inbox: string, entry: string, env: string, time: number }): { signingInput: Uint8Array, receipt: Record<string, unknown> } {
  const unsigned = { v: 1, ...fields, host: referencePeerId(ed25519.getPublicKey(seed)) }
  const signingInput = referenceTagged('ipms/receipt/v1', dagCbor.encode(unsigned))
  return { signingInput, receipt: { ...unsigned, sig: ed25519.sign(signingInput, seed) } }
}

/** §12: a sender's check of a receipt for its inbox and envelope (from `host` when given): ERR_BAD_RECEIPT. */
export function referenceVerifyReceipt (r: unknown, expected: { inbox: string, env: string, host?: string }): void {
  if (!isMap(r) || !keysAre(r, ['v', 'inbox', 'entry', 'env', 'host', 'time', 'sig']) || r.v !== 1 || !isMs(r.time) || !(r.sig instanceof Uint8Array)) return refuse('ERR_BAD_RECEIPT', 'shape')
  if (r.inbox !== expected.inbox || r.env !== expected.env || (expected.host !== undefined && r.host !== expected.host)) refuse('ERR_BAD_RECEIPT', 'another mail')
  const { sig, ...unsigned } = r
  let ok = false
  try { ok = ed25519.verify(sig as Uint8Array, referenceTagged('ipms/receipt/v1', dagCbor.encode(unsigned)), referencePeerKey(r.host)) } catch { ok = false }
  if (!ok) refuse('ERR_BAD_RECEIPT', 'signature')
}

/** §12: the code a sender takes from a host's `refused` frame. */
export const referenceRefusalCode = (code: unknown): string =>
  ['ERR_RATE_LIMITED', 'ERR_TOO_LARGE', 'ERR_MALFORMED', 'ERR_NOT_HOSTED', 'ERR_BAD_ENVELOPE', 'ERR_STALE', 'ERR_OVER_QUOTA', 'ERR_BAD_PASS', 'ERR_PASS_EXPIRED', 'ERR_STORAGE_FULL', 'ERR_GRANT_EXPIRED'].includes(code as string) ? code as string : 'ERR_REFUSED'

/** §10, §12: one frame: unsigned varint length ‖ bytes. */
export function referenceFrame (bytes: Uint8Array): Uint8Array {
  const prefix: number[] = []
  let n = bytes.length
  while (n >= 0x80) { prefix.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  prefix.push(n)
  return concat(Uint8Array.from(prefix), bytes)
}

/** §10, §12: split one frame: its announced length (refused past 4 prefix bytes or `max`) and body. */
export function referenceUnframe (frame: Uint8Array, max: number): Uint8Array {
  let length = 0; let i = 0
  for (; ; i++) {
    if (i >= 4) refuse('ERR_MALFORMED', 'a length prefix over 4 bytes')
    length += (frame[i]! & 0x7f) * 2 ** (7 * i)
    if (frame[i]! < 0x80) break
  }
  if (length > max) refuse('ERR_TOO_LARGE', 'over the frame cap')
  if (frame.length !== i + 1 + length) refuse('ERR_MALFORMED', 'the frame is not its announced length')
  return frame.subarray(i + 1)
}

/** §9.3: an inbox entry as OrbitDB 4 writes it, signed by an Ed25519 writer key (`seed`). */
export function referenceEntry (seed: Uint8Array, inbox: string, payload: unknown, next: string[], time: number): { block: Uint8Array, hash: string } {
  const key = Buffer.from(ed25519.getPublicKey(seed)).toString('hex')
  const signed = { id: inbox, payload, next, refs: [] as string[], clock: { id: key, time }, v: 2 }
  const sig = Buffer.from(ed25519.sign(dagCbor.encode(signed), seed)).toString('hex')
  const block = dagCbor.encode({ ...signed, key, identity: key, sig })
  return { block, hash: referenceCid(block).toString(base58btc) }
}

/** §14: a DHT node's validator, with its memory of the newest `ts` per key (replays refused). */
export function referenceHostsValidator (): (key: string, value: Uint8Array, now: number) => void {
  const newest = new Map<string, number>()
  return (key, value, now) => {
    if (!key.startsWith('/ipms/')) refuse('ERR_INVALID_RECORD', 'namespace')
    const owner = key.slice('/ipms/'.length)
    const card = referenceVerifyRecord('card', value, { owner })
    if (typeof card.expires !== 'number' || card.expires <= now || card.expires - (card.ts as number) > 90 * 86_400_000) refuse('ERR_INVALID_RECORD', 'expiry')
    if ((newest.get(owner) ?? -1) > (card.ts as number)) refuse('ERR_INVALID_RECORD', 'replay')
    newest.set(owner, Math.max(newest.get(owner) ?? 0, card.ts as number))
  }
}

// ── Opening and reading (§3.3, §4.3), with the error each step names ───────────────────────────

/** §3.2: the plaintext inside exactly `pad(m)`, or ERR_MALFORMED. */
function referenceUnpad (padded: Uint8Array): Uint8Array {
  const length = (padded[0]! << 24 | padded[1]! << 16 | padded[2]! << 8 | padded[3]!) >>> 0
  if (padded.length < 4 || 4 + length > padded.length || referencePaddedSize(4 + length) !== padded.length || padded.subarray(4 + length).some(b => b !== 0)) refuse('ERR_MALFORMED', 'bad padding')
  return padded.subarray(4, 4 + length)
}

/** §3.3: the plaintext of an envelope for the reader's seed and inbox. */
export function referenceOpenChecked (envelope: Uint8Array, seed: Uint8Array, inbox: string): Uint8Array {
  if (envelope.length > 4 * 1024 * 1024) refuse('ERR_TOO_LARGE', 'envelope over 4 MiB')
  const e = referenceDecode(envelope)
  if (!isMap(e)) return refuse('ERR_MALFORMED', 'not a map')
  if (e.v !== 1) refuse('ERR_UNSUPPORTED_VERSION', 'envelope v')
  if (!keysAre(e, ['v', 'epk', 'nonce', 'ct']) || !isBytesOf(e.epk, 32) || !isBytesOf(e.nonce, 24) || !(e.ct instanceof Uint8Array) || e.ct.length < 16) refuse('ERR_MALFORMED', 'envelope fields')
  const { epk, nonce, ct } = e as { epk: Uint8Array, nonce: Uint8Array, ct: Uint8Array }
  const ownerX = ed25519.utils.toMontgomery(ed25519.getPublicKey(seed))
  let shared: Uint8Array
  try { shared = x25519.getSharedSecret(ed25519.utils.toMontgomerySecret(seed), epk) } catch { return refuse('ERR_NOT_FOR_RECIPIENT', 'all-zero shared secret') }
  if (shared.every(b => b === 0)) refuse('ERR_NOT_FOR_RECIPIENT', 'all-zero shared secret')
  const key = hkdf(sha256, shared, concat(epk, ownerX), utf8('ipms/envelope/v1'), 32)
  let padded: Uint8Array
  try {
    padded = xchacha20poly1305(key, nonce, utf8(inbox)).decrypt(ct)
  } catch {
    // Which error: the first four plaintext bytes under this key (keystream block 1, no tag check).
    const head = xchacha20(key, nonce, ct.subarray(0, 4), undefined, 1)
    const length = (head[0]! << 24 | head[1]! << 16 | head[2]! << 8 | head[3]!) >>> 0
    return refuse(length <= ct.length && referencePaddedSize(4 + length) === ct.length - 16 ? 'ERR_TAMPERED' : 'ERR_NOT_FOR_RECIPIENT', 'tag')
  }
  const plaintext = referenceUnpad(padded)
  if (plaintext.length > 3 * 1024 * 1024) refuse('ERR_TOO_LARGE', 'mail over 3 MiB')
  return plaintext
}

const MAIL_ID = /^[A-Za-z0-9._-]{1,128}$/
const CONTROLS = /[\u0000-\u001f\u007f]/
const MEDIA = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$/
const bytesOf = (text: string): number => utf8(text).length

/** §4.1: what is wrong with a signed mail's fields, or undefined. */
function mailFieldsProblem (m: Record<string, unknown>): string | undefined {
  const allowed = ['v', 'from', 'to', 'date', 'id', 'subject', 'body', 'attachments', 'inReplyTo', 'card', 'sig']
  if (Object.keys(m).some(k => !allowed.includes(k)) || !['v', 'from', 'to', 'date', 'id', 'subject', 'body', 'attachments', 'sig'].every(k => Object.hasOwn(m, k))) return 'fields'
  if (typeof m.from !== 'string' || typeof m.to !== 'string' || !isMs(m.date)) return 'from, to or date'
  if (typeof m.id !== 'string' || !MAIL_ID.test(m.id) || ('inReplyTo' in m && (typeof m.inReplyTo !== 'string' || !MAIL_ID.test(m.inReplyTo)))) return 'id or inReplyTo'
  if (typeof m.subject !== 'string' || bytesOf(m.subject) > 998 || CONTROLS.test(m.subject)) return 'subject'
  if (typeof m.body !== 'string') return 'body'
  if ('card' in m && (typeof m.card !== 'string' || !m.card.startsWith('ipmscard') || m.card.length > 16_384)) return 'card'
  if (!Array.isArray(m.attachments) || m.attachments.length > 64) return 'attachments'
  for (const a of m.attachments as unknown[]) {
    if (!isMap(a) || !keysAre(a, ['name', 'type', 'data'])) return 'an attachment'
    const { name, type, data } = a
    if (typeof name !== 'string' || name.length === 0 || bytesOf(name) > 255 || CONTROLS.test(name) || /[/\\]/.test(name) || name === '.' || name === '..') return 'an attachment name'
    if (typeof type !== 'string' || bytesOf(type) > 255 || !MEDIA.test(type) || !(data instanceof Uint8Array)) return 'an attachment type or data'
  }
  if (!isBytesOf(m.sig, 64)) return 'sig'
  return undefined
}

/** §3.3 then §4.3: the mail an envelope carries, its sender proven, for the reader `seed`. */
export function referenceReadMail (envelope: Uint8Array, seed: Uint8Array, inbox: string): Record<string, unknown> {
  const m = referenceDecode(referenceOpenChecked(envelope, seed, inbox))
  if (!isMap(m)) return refuse('ERR_MALFORMED', 'not a map')
  if (m.v !== 1) refuse('ERR_UNSUPPORTED_VERSION', 'mail v')
  const problem = mailFieldsProblem(m)
  if (problem !== undefined) refuse('ERR_MALFORMED', problem)
  if (!isCanonicalPeer(m.from)) refuse('ERR_MALFORMED', 'from')
  const { sig, ...unsigned } = m
  if (!ed25519.verify(sig as Uint8Array, referenceTagged('ipms/mail/v1', sha256(dagCbor.encode(unsigned))), referencePeerKey(m.from))) refuse('ERR_BAD_SIGNATURE', 'mail signature')
  if (m.to !== referencePeerId(ed25519.getPublicKey(seed))) refuse('ERR_MISADDRESSED', 'to')
  if (m.card !== undefined) {
    try { referenceVerifyRecord('card', m.card as string, { owner: m.from as string }) } catch { refuse('ERR_MALFORMED', 'a card that is not the sender\'s') }
  }
  return m
}

// ── The identity file (§6) and a kubo identity ──────────────────────────────────────────────────

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const fromBase64 = (v: unknown): Uint8Array | undefined => typeof v === 'string' && BASE64.test(v) ? new Uint8Array(Buffer.from(v, 'base64')) : undefined
const ED25519_PRIVATE_PROTOBUF = Uint8Array.from([0x08, 0x01, 0x12, 0x40])

/** §6: the AEAD's associated data for an identity file of `peerId`. */
export const referenceIdentityAad = (peerId: string): Uint8Array => referenceTagged('ipms/identity/v1', utf8(peerId))

/** §6: the scrypt key of a passphrase (NFC, UTF-8). */
export const referenceIdentityKey = (passphrase: string, salt: Uint8Array, N: number, r: number, p: number): Uint8Array =>
  scrypt(utf8(passphrase.normalize('NFC')), salt, { N, r, p, dkLen: 32 })

/** §6: the seed inside a libp2p Ed25519 private key protobuf, checked against its public half. */
function seedOfProtobuf (protobuf: Uint8Array, corrupt: string): Uint8Array {
  if (protobuf[0] === 0x08 && protobuf[1] !== undefined && protobuf[1] !== 0x01 && protobuf[1] <= 3) refuse('ERR_UNSUPPORTED_KEY_TYPE', 'an RSA, secp256k1 or ECDSA key')
  if (protobuf.length !== 68 || !ED25519_PRIVATE_PROTOBUF.every((b, i) => protobuf[i] === b)) refuse(corrupt, 'not an Ed25519 private key protobuf')
  const seed = protobuf.subarray(4, 36)
  if (!ed25519.getPublicKey(seed).every((b, i) => b === protobuf[36 + i])) refuse(corrupt, 'the public half is not the seed\'s')
  return seed
}

/** §6: the address of the identity in an identity file's text. */
export function referenceReadIdentity (text: string, passphrase?: string): string {
  const corrupt = (why: string): never => refuse('ERR_KEY_FILE_CORRUPT', why)
  let doc: Record<string, unknown>
  try { doc = JSON.parse(text) } catch { return corrupt('not JSON') }
  if (!isMap(doc) || doc.type !== 'ipms-identity') return corrupt('type')
  if (doc.v !== 1) return Number.isSafeInteger(doc.v) ? refuse('ERR_UNSUPPORTED_VERSION', 'v') : corrupt('v')
  if (!isCanonicalPeer(doc.peerId)) return corrupt('peerId')
  if (('key' in doc) === ('encrypted' in doc)) return corrupt('key or encrypted')
  let protobuf: Uint8Array
  if ('key' in doc) {
    protobuf = fromBase64(doc.key) ?? corrupt('key')
  } else {
    const e = doc.encrypted as Record<string, unknown>
    if (!isMap(e) || e.kdf !== 'scrypt') return corrupt('kdf')
    const { N, r, p } = e as { N: number, r: number, p: number }
    if (![N, r, p].every(Number.isSafeInteger) || !Number.isInteger(Math.log2(N)) || N < 2 ** 10 || N > 2 ** 20 || r < 1 || r > 32 || p < 1 || p > 16 || 128 * r * (N + 2 + p) > 2 ** 30) return corrupt('scrypt parameters')
    const salt = fromBase64(e.salt); const nonce = fromBase64(e.nonce); const ct = fromBase64(e.ct)
    if (salt?.length !== 16 || nonce?.length !== 24 || ct === undefined || ct.length <= 16 || ct.length > 4096) return corrupt('salt, nonce or ct')
    if (passphrase === undefined) return refuse('ERR_PASSPHRASE_REQUIRED', 'encrypted')
    try { protobuf = xchacha20poly1305(referenceIdentityKey(passphrase, salt, N, r, p), nonce, referenceIdentityAad(doc.peerId as string)).decrypt(ct) } catch { return refuse('ERR_WRONG_PASSPHRASE', 'the AEAD refuses') }
  }
  const seed = seedOfProtobuf(protobuf, 'ERR_KEY_FILE_CORRUPT')
  if (referencePeerId(ed25519.getPublicKey(seed)) !== doc.peerId) corrupt('the peerId is not the key\'s')
  return doc.peerId as string
}

/** §6: the address of the identity in a kubo config's text (`Identity.PrivKey`, `Identity.PeerID`). */
export function referenceReadKuboIdentity (text: string): string {
  let config: Record<string, unknown>
  try { config = JSON.parse(text) } catch { return refuse('ERR_KEY_FILE_CORRUPT', 'not JSON') }
  const section = isMap(config) ? config.Identity as Record<string, unknown> : undefined
  if (!isMap(section)) return refuse('ERR_KEY_FILE_CORRUPT', 'no Identity')
  const protobuf = fromBase64(section.PrivKey) ?? refuse('ERR_KEY_FILE_CORRUPT', 'PrivKey')
  const peerId = referencePeerId(ed25519.getPublicKey(seedOfProtobuf(protobuf, 'ERR_KEY_FILE_CORRUPT')))
  if (section.PeerID !== undefined && section.PeerID !== peerId) refuse('ERR_KEY_FILE_CORRUPT', 'PeerID is not the key\'s')
  return peerId
}

/** §13: the fields config.json may have. */
const CONFIG_FIELDS = ['listen', 'bootstrap', 'bits', 'dht', 'mdns', 'dhtProtocol', 'hostPolicy', 'apiListen', 'web', 'maxOpenInboxes', 'outboxMaxAgeDays']

/** §6.1: what a backup file restores: its address, whether the key had a passphrase, and the names of the files it carries. */
export function referenceReadBackup (text: string, passphrase: string): { peerId: string, keyEncrypted: boolean, files: string[] } {
  const bad = (why: string): never => refuse('ERR_INVALID_RECORD', why)
  if (text.length > 16 * 1024 * 1024) bad('over 16 MiB')
  let doc: Record<string, unknown>
  try { doc = JSON.parse(text) } catch { return bad('not JSON') }
  if (!isMap(doc) || doc.type !== 'ipms-backup') return bad('type')
  if (doc.v !== 1) return Number.isSafeInteger(doc.v) ? refuse('ERR_UNSUPPORTED_VERSION', 'v') : bad('v')
  if (!isCanonicalPeer(doc.peerId)) return bad('peerId')
  if (!isMs(doc.created)) return bad('created')
  const e = doc.encrypted as Record<string, unknown>
  if (!isMap(e) || e.kdf !== 'scrypt') return bad('kdf')
  const { N, r, p } = e as { N: number, r: number, p: number }
  if (![N, r, p].every(Number.isSafeInteger) || !Number.isInteger(Math.log2(N)) || N < 2 ** 10 || N > 2 ** 20 || r < 1 || r > 32 || p < 1 || p > 16 || 128 * r * (N + 2 + p) > 2 ** 30) return bad('scrypt parameters')
  const salt = fromBase64(e.salt); const nonce = fromBase64(e.nonce); const ct = fromBase64(e.ct)
  if (salt?.length !== 16 || nonce?.length !== 24 || ct === undefined || ct.length <= 16 || ct.length > 12 * 1024 * 1024) return bad('salt, nonce or ct')
  let plaintext: Uint8Array
  try { plaintext = xchacha20poly1305(referenceIdentityKey(passphrase, salt, N, r, p), nonce, referenceTagged('ipms/backup/v1', utf8(doc.peerId as string))).decrypt(ct) } catch { return refuse('ERR_WRONG_PASSPHRASE', 'the AEAD refuses') }
  let content: Record<string, unknown>
  try { content = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext)) } catch { return bad('content not JSON') }
  if (!isMap(content)) return bad('content')
  const protobuf = fromBase64(content.key) ?? bad('key')
  if (referencePeerId(ed25519.getPublicKey(seedOfProtobuf(protobuf, 'ERR_INVALID_RECORD'))) !== doc.peerId) bad('the key is not the peerId\'s')
  if (typeof content.keyEncrypted !== 'boolean') bad('keyEncrypted')
  const files = content.files as Record<string, unknown>
  if (!isMap(files)) return bad('files')
  for (const [name, value] of Object.entries(files)) {
    if (!['contacts.json', 'hosts.json', 'config.json'].includes(name) || typeof value !== 'string') bad('a file')
    let json: unknown
    try { json = JSON.parse(value as string) } catch { return bad('a file that is not JSON') }
    if (!isMap(json)) bad('a file that is not a JSON object')
    if (name === 'config.json' && Object.keys(json as object).some(k => !CONFIG_FIELDS.includes(k))) bad('a config.json the config rules refuse')
  }
  return { peerId: doc.peerId as string, keyEncrypted: content.keyEncrypted as boolean, files: Object.keys(files).sort() }
}
