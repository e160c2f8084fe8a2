import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ed25519 } from '@noble/curves/ed25519.js'
import { base58btc } from 'multiformats/bases/base58'
import { CorruptKeyFileError, IdentityNotFoundError, UnsupportedKeyTypeError } from '../../src/errors.ts'
import { importKuboIdentity, importKuboIdentityFile } from '../../src/identity/kubo.ts'

const corrupt = (err: unknown): boolean => err instanceof CorruptKeyFileError && err.code === 'ERR_KEY_FILE_CORRUPT'
const unsupported = (err: unknown): boolean => err instanceof UnsupportedKeyTypeError && err.code === 'ERR_UNSUPPORTED_KEY_TYPE'

/** A config shaped like the one `ipfs init` writes, with `key` as its identity; `peerId: null` leaves PeerID out. */
function kuboConfig (key: PrivateKey, peerId?: string | null): string {
  return JSON.stringify({
    Identity: { PeerID: peerId === undefined ? peerIdFromPrivateKey(key).toString() : (peerId ?? undefined), PrivKey: Buffer.from(privateKeyToProtobuf(key)).toString('base64') },
    Addresses: { Swarm: ['/ip4/0.0.0.0/tcp/4001'], API: '/ip4/127.0.0.1/tcp/5001' },
    Bootstrap: []
  }, null, 2)
}

describe('kubo import', () => {
  let root: string
  before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-kubo-')) })
  after(async () => { await rm(root, { recursive: true, force: true }) })

  it('imports an Ed25519 kubo identity with the same peer-id', async () => {
    const key = await generateKeyPair('Ed25519')
    const identity = importKuboIdentity(kuboConfig(key))
    assert.equal(identity.peerId, peerIdFromPrivateKey(key).toString())
    assert.ok(identity.privateKey.equals(key))
    // Without the PeerID field the key alone decides.
    assert.equal(importKuboIdentity(kuboConfig(key, null)).peerId, identity.peerId)
  })

  it('refuses a PeerID that is not the key\'s', async () => {
    const key = await generateKeyPair('Ed25519')
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    assert.throws(() => importKuboIdentity(kuboConfig(key, other)), corrupt)
    assert.throws(() => importKuboIdentity(kuboConfig(key, 42 as unknown as string)), corrupt)
  })

  it('refuses RSA, secp256k1 and ECDSA keys, saying how to get an Ed25519 one', async () => {
    for (const key of [await generateKeyPair('RSA', 2048), await generateKeyPair('secp256k1'), await generateKeyPair('ECDSA')]) {
      assert.throws(() => importKuboIdentity(kuboConfig(key, null)), (err: Error) =>
        unsupported(err) && err.message.includes(key.type) && err.message.includes('ipfs init --algorithm ed25519') &&
        err.message.includes('ipfs key rotate -t ed25519'), key.type)
    }
    // With a matching PeerID (Qm…, 16Uiu2…) too: the key type is what is refused.
    for (const key of [await generateKeyPair('RSA', 1024), await generateKeyPair('secp256k1')]) {
      assert.throws(() => importKuboIdentity(kuboConfig(key)), unsupported, key.type)
    }
  })

  it('refuses broken configs as CorruptKeyFileError', async () => {
    const key = await generateKeyPair('Ed25519')
    const good = JSON.parse(kuboConfig(key))
    const cases: Array<[string, string]> = [
      ['not JSON', '{"Identity": '],
      ['empty', ''],
      ['array', '[]'],
      ['no Identity', JSON.stringify({ Addresses: {} })],
      ['Identity not an object', JSON.stringify({ Identity: 'x' })],
      ['no PrivKey', JSON.stringify({ Identity: { PeerID: good.Identity.PeerID } })],
      ['PrivKey not a string', JSON.stringify({ Identity: { PrivKey: 12 } })],
      ['bad base64', JSON.stringify({ Identity: { PrivKey: 'not*base64' } })],
      ['not a protobuf key', JSON.stringify({ Identity: { PrivKey: Buffer.from('hello world').toString('base64') } })],
      ['truncated key', JSON.stringify({ Identity: { PrivKey: Buffer.from(privateKeyToProtobuf(key).subarray(0, 40)).toString('base64') } })]
    ]
    for (const [name, text] of cases) assert.throws(() => importKuboIdentity(text), corrupt, name)
    assert.throws(() => importKuboIdentity(null as unknown as string), corrupt)
  })

  it('reads a config file, and reports a missing one', async () => {
    const key = await generateKeyPair('Ed25519')
    const path = join(root, 'config')
    await writeFile(path, kuboConfig(key))
    assert.equal((await importKuboIdentityFile(path)).peerId, peerIdFromPrivateKey(key).toString())
    await assert.rejects(importKuboIdentityFile(join(root, 'missing')),
      (err: unknown) => err instanceof IdentityNotFoundError && err.code === 'ERR_IDENTITY_NOT_FOUND')
  })

  it('imports the committed kubo config vector', async () => {
    const dir = new URL('../vectors/identity/', import.meta.url)
    const expected = JSON.parse(await readFile(new URL('expected.json', dir), 'utf8'))
    const identity = await importKuboIdentityFile(new URL('kubo-config.json', dir).pathname)
    assert.equal(identity.peerId, expected.kuboPeerId)
    assert.equal(Buffer.from(identity.seed).toString('hex'), expected.kuboSeedHex)
    assert.equal(Buffer.from(identity.publicKey).toString('hex'), expected.kuboPublicKeyHex)
    // Independent of libp2p: RFC 8032 public key of the seed, and the peer-id spelled out by hand
    // (identity multihash 0x00 0x24 of protobuf {Type: 1, Data: pub}, base58btc without its 'z').
    const pub = ed25519.getPublicKey(Buffer.from(expected.kuboSeedHex, 'hex'))
    assert.equal(Buffer.from(pub).toString('hex'), expected.kuboPublicKeyHex)
    const multihash = Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20, ...pub])
    assert.equal(base58btc.encode(multihash).slice(1), expected.kuboPeerId)
  })
})
