import { describe, it, before, after, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { privateKeyFromRaw, privateKeyToProtobuf, generateKeyPair } from '@libp2p/crypto/keys'
import {
  CorruptKeyFileError, IdentityExistsError, IdentityNotFoundError, InsecureKeyFileError, InvalidArgumentError,
  PassphraseRequiredError, UnsupportedVersionError, WrongPassphraseError
} from '../../src/errors.ts'
import { createIdentity } from '../../src/identity/identity.ts'
import type { Identity } from '../../src/identity/identity.ts'
import { identityPath, resolveHome } from '../../src/identity/home.ts'
import {
  DEFAULT_SCRYPT, decodeIdentityFile, loadIdentity, readIdentityInfo, readIdentityPeerId, saveIdentity
} from '../../src/identity/keystore.ts'

const FAST = { N: 2 ** 10 } // scrypt cost for tests; the default is 2^17
const PASS = 'correct horse battery staple'

function is (Class: new (...args: any[]) => Error, code: string) {
  return (err: unknown): boolean => err instanceof Class && (err as { code?: string }).code === code
}
const corrupt = is(CorruptKeyFileError, 'ERR_KEY_FILE_CORRUPT')
const wrongPassphrase = is(WrongPassphraseError, 'ERR_WRONG_PASSPHRASE')

describe('keystore', () => {
  let root: string
  let me: Identity
  let other: Identity
  let count = 0
  const savedEnv = process.env['IPMS_HOME']
  /** A fresh, not yet existing home. */
  const newHome = (): string => join(root, `home-${++count}`)

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'ipms-keystore-'))
    me = await createIdentity()
    other = await createIdentity()
  })
  after(async () => { await rm(root, { recursive: true, force: true }) })
  afterEach(() => {
    if (savedEnv === undefined) delete process.env['IPMS_HOME']
    else process.env['IPMS_HOME'] = savedEnv
  })

  /** Save `me` in a new home and return the home and the parsed file. */
  async function saved (passphrase?: string): Promise<{ home: string, doc: any }> {
    const home = newHome()
    await saveIdentity(home, me, { passphrase, kdf: FAST })
    return { home, doc: JSON.parse(await readFile(identityPath(home), 'utf8')) }
  }
  async function rewrite (home: string, doc: unknown): Promise<void> {
    await writeFile(identityPath(home), typeof doc === 'string' ? doc : JSON.stringify(doc))
  }

  it('round-trips an unencrypted identity, file 0600 in a created 0700 home, atomically', async () => {
    const { home, doc } = await saved()
    assert.deepEqual(Object.keys(doc), ['type', 'v', 'peerId', 'key'])
    assert.equal(doc.type, 'ipms-identity')
    assert.equal(doc.v, 1)
    assert.equal(doc.peerId, me.peerId)
    assert.deepEqual(Buffer.from(doc.key, 'base64'), Buffer.from(privateKeyToProtobuf(me.privateKey)))
    assert.equal((await stat(identityPath(home))).mode & 0o777, 0o600)
    assert.equal((await stat(home)).mode & 0o777, 0o700)
    assert.deepEqual(await readdir(home), ['identity.json']) // no temp file left behind
    const loaded = await loadIdentity(home)
    assert.equal(loaded.peerId, me.peerId)
    assert.deepEqual(loaded.seed, me.seed)
    assert.ok(loaded.privateKey.equals(me.privateKey))
    assert.equal(await readIdentityPeerId(home), me.peerId)
    assert.deepEqual(await readIdentityInfo(home), { peerId: me.peerId, encrypted: false })
    // A passphrase given for an unencrypted file is not needed and not an error.
    assert.equal((await loadIdentity(home, { passphrase: 'unused' })).peerId, me.peerId)
  })

  it('round-trips an encrypted identity; the peer-id stays readable without the passphrase', async () => {
    const { home, doc } = await saved(PASS)
    assert.deepEqual(Object.keys(doc), ['type', 'v', 'peerId', 'encrypted'])
    assert.deepEqual(Object.keys(doc.encrypted), ['kdf', 'N', 'r', 'p', 'salt', 'nonce', 'ct'])
    assert.equal(doc.encrypted.kdf, 'scrypt')
    assert.equal(doc.encrypted.N, FAST.N)
    assert.equal(doc.encrypted.r, 8)
    assert.equal(doc.encrypted.p, 1)
    assert.equal(Buffer.from(doc.encrypted.salt, 'base64').byteLength, 16)
    assert.equal(Buffer.from(doc.encrypted.nonce, 'base64').byteLength, 24)
    assert.equal((await stat(identityPath(home))).mode & 0o777, 0o600)
    const text = await readFile(identityPath(home), 'utf8')
    assert.ok(!text.includes(Buffer.from(privateKeyToProtobuf(me.privateKey)).toString('base64')))
    assert.ok(!text.includes(Buffer.from(me.seed).toString('base64').slice(0, 20)))
    assert.equal((await loadIdentity(home, { passphrase: PASS })).peerId, me.peerId)
    assert.deepEqual(await readIdentityInfo(home), { peerId: me.peerId, encrypted: true })
    assert.equal(await readIdentityPeerId(home), me.peerId)
  })

  it('normalises the passphrase to NFC', async () => {
    const home = newHome()
    await saveIdentity(home, me, { passphrase: 'caf\u00e9', kdf: FAST })
    assert.equal((await loadIdentity(home, { passphrase: 'cafe\u0301' })).peerId, me.peerId)
  })

  it('uses scrypt N = 2^17, r = 8, p = 1 by default', () => {
    assert.deepEqual({ ...DEFAULT_SCRYPT }, { N: 131072, r: 8, p: 1 })
  })

  it('asks for a missing passphrase and refuses a wrong one without leaking it', async () => {
    const { home } = await saved(PASS)
    await assert.rejects(loadIdentity(home), is(PassphraseRequiredError, 'ERR_PASSPHRASE_REQUIRED'))
    await assert.rejects(loadIdentity(home, { passphrase: 'correct horse battery stapler' }),
      (err: Error) => wrongPassphrase(err) && !err.message.includes('stapler'))
    await assert.rejects(loadIdentity(home, { passphrase: '' }), wrongPassphrase)
  })

  it('detects a tampered ciphertext and a swapped peer-id in an encrypted file', async () => {
    const { home, doc } = await saved(PASS)
    const ct = Buffer.from(doc.encrypted.ct, 'base64')
    ct[5]! ^= 0x01
    await rewrite(home, { ...doc, encrypted: { ...doc.encrypted, ct: ct.toString('base64') } })
    await assert.rejects(loadIdentity(home, { passphrase: PASS }), wrongPassphrase)
    // The peer-id is bound as AAD: a file showing another address does not open.
    await rewrite(home, { ...doc, peerId: other.peerId })
    await assert.rejects(loadIdentity(home, { passphrase: PASS }), wrongPassphrase)
    const nonce = Buffer.from(doc.encrypted.nonce, 'base64')
    nonce[0]! ^= 0x80
    await rewrite(home, { ...doc, encrypted: { ...doc.encrypted, nonce: nonce.toString('base64') } })
    await assert.rejects(loadIdentity(home, { passphrase: PASS }), wrongPassphrase)
  })

  it('detects a swapped peer-id and an inconsistent key in an unencrypted file', async () => {
    const { home, doc } = await saved()
    await rewrite(home, { ...doc, peerId: other.peerId })
    await assert.rejects(loadIdentity(home), corrupt)
    // seed of `me` with the public key of `other`, labelled with `other`'s peer-id.
    const mixed = privateKeyFromRaw(Uint8Array.from([...me.seed, ...other.publicKey]))
    await rewrite(home, { ...doc, peerId: other.peerId, key: Buffer.from(privateKeyToProtobuf(mixed)).toString('base64') })
    await assert.rejects(loadIdentity(home), corrupt)
    const secp = await generateKeyPair('secp256k1')
    await rewrite(home, { ...doc, key: Buffer.from(privateKeyToProtobuf(secp)).toString('base64') })
    await assert.rejects(loadIdentity(home), corrupt)
  })

  it('reports broken files as CorruptKeyFileError, an unknown version as UnsupportedVersionError', async () => {
    const { home, doc } = await saved(PASS)
    const text = JSON.stringify(doc)
    const cases: Array<[string, unknown]> = [
      ['truncated JSON', text.slice(0, text.length / 2)],
      ['empty file', ''],
      ['JSON array', '[]'],
      ['JSON null', 'null'],
      ['wrong type', { ...doc, type: 'ipfs-identity' }],
      ['no type', { ...doc, type: undefined }],
      ['string v', { ...doc, v: '1' }],
      ['no peerId', { ...doc, peerId: undefined }],
      ['bad peerId', { ...doc, peerId: 'hello' }],
      ['RSA peerId', { ...doc, peerId: 'QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN' }],
      ['non-canonical peerId', { ...doc, peerId: ` ${doc.peerId}` }],
      ['both key and encrypted', { ...doc, key: 'CAES' }],
      ['neither', { ...doc, encrypted: undefined }],
      ['other kdf', { ...doc, encrypted: { ...doc.encrypted, kdf: 'argon2id' } }],
      ['N not a power of two', { ...doc, encrypted: { ...doc.encrypted, N: 1000 } }],
      ['N huge', { ...doc, encrypted: { ...doc.encrypted, N: 2 ** 40 } }],
      ['r zero', { ...doc, encrypted: { ...doc.encrypted, r: 0 } }],
      ['short salt', { ...doc, encrypted: { ...doc.encrypted, salt: 'AAAA' } }],
      ['bad base64 nonce', { ...doc, encrypted: { ...doc.encrypted, nonce: `!${doc.encrypted.nonce.slice(1)}` } }],
      ['unpadded ct', { ...doc, encrypted: { ...doc.encrypted, ct: doc.encrypted.ct.replace(/=+$/, '') + 'A' } }],
      ['empty ct', { ...doc, encrypted: { ...doc.encrypted, ct: '' } }]
    ]
    for (const [name, content] of cases) {
      await rewrite(home, content)
      await assert.rejects(loadIdentity(home, { passphrase: PASS }), corrupt, name)
    }
    for (const v of [0, 2, 99]) {
      await rewrite(home, { ...doc, v })
      await assert.rejects(loadIdentity(home, { passphrase: PASS }), is(UnsupportedVersionError, 'ERR_UNSUPPORTED_VERSION'), `v ${v}`)
    }
    const plain = await saved()
    for (const key of ['not base64!', 'CAESQ', 'CAE=', 12, '']) {
      await rewrite(plain.home, { ...plain.doc, key })
      await assert.rejects(loadIdentity(plain.home), corrupt, String(key))
    }
    // readIdentityPeerId reads the same structure, so it refuses the same damage.
    await rewrite(plain.home, { ...plain.doc, type: 'x' })
    await assert.rejects(readIdentityPeerId(plain.home), corrupt)
  })

  it('refuses to load a key file that others can read (ssh behaviour)', async () => {
    const { home } = await saved()
    const path = identityPath(home)
    for (const mode of [0o644, 0o640, 0o604, 0o660, 0o602]) {
      await chmod(path, mode)
      await assert.rejects(loadIdentity(home), (err: Error) =>
        is(InsecureKeyFileError, 'ERR_KEY_FILE_INSECURE')(err) && err.message.includes(`chmod 600 ${path}`))
    }
    // The public peer-id can still be shown.
    assert.equal(await readIdentityPeerId(home), me.peerId)
    await chmod(path, 0o400)
    assert.equal((await loadIdentity(home)).peerId, me.peerId)
  })

  it('does not overwrite without the flag, and does with it', async () => {
    const { home } = await saved()
    await assert.rejects(saveIdentity(home, other, { kdf: FAST }), is(IdentityExistsError, 'ERR_IDENTITY_EXISTS'))
    await assert.rejects(saveIdentity(home, other, { passphrase: PASS, kdf: FAST }), is(IdentityExistsError, 'ERR_IDENTITY_EXISTS'))
    assert.equal((await loadIdentity(home)).peerId, me.peerId)
    assert.deepEqual(await readdir(home), ['identity.json'])
    await saveIdentity(home, other, { overwrite: true, passphrase: PASS, kdf: FAST })
    assert.equal((await loadIdentity(home, { passphrase: PASS })).peerId, other.peerId)
    assert.equal((await stat(identityPath(home))).mode & 0o777, 0o600)
    assert.deepEqual(await readdir(home), ['identity.json'])
  })

  it('lets only one of two racing saves win', async () => {
    const home = newHome()
    const results = await Promise.allSettled([saveIdentity(home, me), saveIdentity(home, other)])
    assert.equal(results.filter(r => r.status === 'fulfilled').length, 1)
    const failed = results.find(r => r.status === 'rejected') as PromiseRejectedResult
    assert.ok(is(IdentityExistsError, 'ERR_IDENTITY_EXISTS')(failed.reason))
    assert.deepEqual(await readdir(home), ['identity.json'])
  })

  it('reports a missing identity with a hint to run ipms init', async () => {
    const home = newHome()
    const notFound = (err: Error): boolean => is(IdentityNotFoundError, 'ERR_IDENTITY_NOT_FOUND')(err) && err.message.includes('ipms init')
    await assert.rejects(loadIdentity(home), notFound)
    await assert.rejects(readIdentityPeerId(home), notFound)
  })

  it('honours IPMS_HOME', async () => {
    const home = newHome()
    process.env['IPMS_HOME'] = home
    await saveIdentity(resolveHome(), me)
    assert.equal((await stat(join(home, 'identity.json'))).mode & 0o777, 0o600)
    assert.equal((await loadIdentity(resolveHome())).peerId, me.peerId)
  })

  it('refuses bad arguments', async () => {
    const isArg = is(InvalidArgumentError, 'ERR_INVALID_ARGUMENT')
    await assert.rejects(saveIdentity(newHome(), me, { passphrase: '' }), isArg)
    await assert.rejects(saveIdentity(newHome(), me, { passphrase: PASS, kdf: { N: 1000 } }), isArg)
    await assert.rejects(saveIdentity(newHome(), me, { passphrase: PASS, kdf: { N: 2 ** 30 } }), isArg)
    await assert.rejects(saveIdentity(newHome(), { peerId: me.peerId } as Identity), isArg)
    const forged = Object.assign(Object.create(null), { peerId: other.peerId, privateKey: me.privateKey }) as Identity
    await assert.rejects(saveIdentity(newHome(), forged), isArg)
  })

  it('decodes the committed identity file vectors', async () => {
    const dir = new URL('../vectors/identity/', import.meta.url)
    const expected = JSON.parse(await readFile(new URL('expected.json', dir), 'utf8'))
    const plain = await decodeIdentityFile(await readFile(new URL('identity-plain.json', dir), 'utf8'))
    const encrypted = await decodeIdentityFile(await readFile(new URL('identity-encrypted.json', dir), 'utf8'), { passphrase: expected.passphrase })
    for (const identity of [plain, encrypted]) {
      assert.equal(identity.peerId, expected.identityPeerId)
      assert.equal(Buffer.from(identity.seed).toString('hex'), expected.identitySeedHex)
      assert.equal(Buffer.from(identity.publicKey).toString('hex'), expected.identityPublicKeyHex)
    }
  })
})
