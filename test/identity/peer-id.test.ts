import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { base36 } from 'multiformats/bases/base36'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { identity as identityHash } from 'multiformats/hashes/identity'
import { sha256 } from 'multiformats/hashes/sha2'
import { InvalidArgumentError, InvalidPeerIdError, UnsupportedKeyTypeError } from '../../src/errors.ts'
import { createIdentity } from '../../src/identity/identity.ts'
import type { Identity } from '../../src/identity/identity.ts'
import { parsePeerId, peerIdFromPublicKey } from '../../src/identity/peer-id.ts'

const invalid = (err: unknown): boolean => err instanceof InvalidPeerIdError && err.code === 'ERR_INVALID_PEER_ID'
const unsupported = (err: unknown): boolean => err instanceof UnsupportedKeyTypeError && err.code === 'ERR_UNSUPPORTED_KEY_TYPE'

/** base58btc peer-id string of an identity multihash over `digest`. */
function identityPeerIdString (digest: Uint8Array): string {
  return base58btc.encode(identityHash.digest(digest).bytes).slice(1)
}

describe('parsePeerId', () => {
  let me: Identity
  before(async () => { me = await createIdentity() })

  it('parses a base58btc Ed25519 peer-id to itself and its key', () => {
    const parsed = parsePeerId(me.peerId)
    assert.equal(parsed.peerId, me.peerId)
    assert.deepEqual(parsed.publicKey, me.publicKey)
    assert.equal(parsed.publicKey.byteLength, 32)
    assert.match(parsed.peerId, /^12D3KooW/)
  })

  it('normalises the CIDv1 forms (base32 bafz…, base36 k51…) and trims whitespace', () => {
    const cid = peerIdFromString(me.peerId).toCID()
    const base32 = cid.toString()
    assert.match(base32, /^bafz/)
    assert.equal(parsePeerId(base32).peerId, me.peerId)
    const b36 = cid.toString(base36)
    assert.match(b36, /^k51/)
    assert.equal(parsePeerId(b36).peerId, me.peerId)
    assert.equal(parsePeerId(` \t${me.peerId}\n`).peerId, me.peerId)
  })

  it('refuses RSA, secp256k1 and ECDSA peer-ids as unsupported key types', async () => {
    // A well-known RSA peer-id (an IPFS bootstrap node).
    assert.throws(() => parsePeerId('QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN'), (err: Error) =>
      unsupported(err) && /RSA/.test(err.message) && /Ed25519/.test(err.message) && /12D3KooW/.test(err.message))
    const secp = peerIdFromPrivateKey(await generateKeyPair('secp256k1')).toString()
    assert.match(secp, /^16Uiu2/)
    assert.throws(() => parsePeerId(secp), (err: Error) => unsupported(err) && /secp256k1/.test(err.message))
    const ecdsa = identityPeerIdString(publicKeyToProtobuf((await generateKeyPair('ECDSA')).publicKey))
    assert.throws(() => parsePeerId(ecdsa), (err: Error) => unsupported(err) && /ECDSA/.test(err.message))
    // The CID form of an RSA peer-id too.
    const rsaCid = CID.createV1(0x72, await sha256.digest(new Uint8Array(300))).toString()
    assert.throws(() => parsePeerId(rsaCid), unsupported)
  })

  it('refuses empty, blank, garbage and truncated strings', () => {
    for (const text of ['', '   ', '\n', 'hello', '12D3KooW', me.peerId.slice(0, -1), me.peerId.slice(0, 30),
      `${me.peerId}x`, 'Qm', '1', 'bafz', 'k51qzi5uqu5', `12D3KooW${'0'.repeat(44)}`, 'x'.repeat(100_000)]) {
      assert.throws(() => parsePeerId(text), invalid, JSON.stringify(text.slice(0, 40)))
    }
  })

  it('refuses CIDs of other things', async () => {
    // (A CIDv0 `Qm…` is spelled exactly like an RSA peer-id, so it is reported as one.)
    const digest = await sha256.digest(new TextEncoder().encode('hello'))
    for (const cid of [CID.createV1(0x70, digest), CID.createV1(0x55, digest), CID.createV1(0x71, identityHash.digest(new Uint8Array(4)))]) {
      assert.throws(() => parsePeerId(cid.toString()), invalid, cid.toString())
    }
  })

  it('refuses non-strings with InvalidPeerIdError', () => {
    for (const value of [null, undefined, 42, {}, [], new Uint8Array(38), Symbol('x'), () => me.peerId]) {
      assert.throws(() => parsePeerId(value as unknown as string), invalid)
    }
  })

  it('refuses URL peer-ids, non-canonical key encodings, off-curve and small-order keys', () => {
    assert.throws(() => parsePeerId(identityPeerIdString(new TextEncoder().encode('https://example.com/'))), invalid)
    // `{Type: Ed25519, Data: pub}` plus an unknown field 3: same key, second spelling.
    const extra = Uint8Array.from([0x08, 0x01, 0x12, 0x20, ...me.publicKey, 0x18, 0x01])
    assert.throws(() => parsePeerId(identityPeerIdString(extra)), invalid)
    const offCurve = new Uint8Array(32).fill(0xff)
    offCurve[31] = 0x7f
    assert.throws(() => parsePeerId(identityPeerIdString(Uint8Array.from([0x08, 0x01, 0x12, 0x20, ...offCurve]))), invalid)
    const neutral = new Uint8Array(32)
    neutral[0] = 1 // the identity point, of order 1
    assert.throws(() => parsePeerId(identityPeerIdString(Uint8Array.from([0x08, 0x01, 0x12, 0x20, ...neutral]))), invalid)
  })

  it('throws only its two error classes on random input', () => {
    let state = 0x12345678
    const next = (): number => { state = (Math.imul(state, 1103515245) + 12345) >>> 0; return state }
    const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0OIl=+/ '
    for (let i = 0; i < 2000; i++) {
      const prefix = ['1', 'Q', '12D3KooW', 'bafz', 'k51qzi5uqu5', '16Uiu2', ''][next() % 7]!
      let text = prefix
      const length = next() % 70
      for (let j = 0; j < length; j++) text += alphabet[next() % alphabet.length]
      try {
        parsePeerId(text)
      } catch (err) {
        assert.ok(invalid(err) || unsupported(err), `${JSON.stringify(text)} threw ${String(err)}`)
      }
    }
  })

  it('returns fresh copies from its cache', () => {
    const first = parsePeerId(me.peerId)
    first.publicKey.fill(0)
    const second = parsePeerId(me.peerId)
    assert.deepEqual(second.publicKey, me.publicKey)
    assert.notEqual(first.publicKey, second.publicKey)
  })

  it('keeps working past its cache size', async () => {
    const ids: string[] = []
    for (let i = 0; i < 1100; i++) ids.push(peerIdFromPublicKey((await generateKeyPair('Ed25519')).publicKey.raw))
    for (const id of ids) assert.equal(parsePeerId(id).peerId, id)
    assert.equal(parsePeerId(ids[0]!).peerId, ids[0])
  })
})

describe('peerIdFromPublicKey', () => {
  it('round-trips with parsePeerId and matches libp2p', async () => {
    const key = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPublicKey(key.publicKey.raw)
    assert.equal(peerId, peerIdFromPrivateKey(key).toString())
    assert.deepEqual(parsePeerId(peerId).publicKey, key.publicKey.raw)
  })

  it('refuses anything but a usable 32-byte Ed25519 key', () => {
    const isArg = (err: unknown): boolean => err instanceof InvalidArgumentError && err.code === 'ERR_INVALID_ARGUMENT'
    for (const value of [new Uint8Array(31), new Uint8Array(33), 'abc', null, new Uint8Array(32).fill(0xff)]) {
      assert.throws(() => peerIdFromPublicKey(value as Uint8Array), isArg)
    }
  })
})
