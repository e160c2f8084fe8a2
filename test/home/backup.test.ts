/**
 * The backup file (src/home/backup.ts): what it restores, and every way a damaged or hostile one
 * is refused (before the key derivation where the shape says so), with nothing written.
 */
import { test } from 'node:test'
import { privateKeyToProtobuf } from '@libp2p/crypto/keys'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TAG_BACKUP } from '../../src/constants.ts'
import { taggedBytes, utf8Bytes } from '../../src/crypto/codec.ts'
import { InvalidRecordError, IdentityExistsError, UnsupportedVersionError, WrongPassphraseError } from '../../src/errors.ts'
import { backupPeerId, decodeBackup, encodeBackup, restoreBackup, type Backup } from '../../src/home/backup.ts'
import { createIdentity } from '../../src/identity/identity.ts'
import { loadIdentity, readIdentityInfo } from '../../src/identity/keystore.ts'
import { sealWithPassphrase } from '../../src/identity/passphrase-box.ts'

const FAST = { N: 2 ** 10 }
const FILES = { 'contacts.json': '{"v":1,"contacts":{}}\n', 'config.json': '{"bits":10}\n' }

async function aBackup (): Promise<{ backup: Backup, text: string }> {
  const identity = await createIdentity()
  const backup: Backup = { identity, keyEncrypted: true, files: FILES, created: 1_796_000_000_000 }
  return { backup, text: await encodeBackup(backup, 'backup pass', FAST) }
}

test('a backup round-trips: key, files, whether the key was encrypted; its peer-id is readable without the passphrase', async () => {
  const { backup, text } = await aBackup()
  assert.equal(backupPeerId(text), backup.identity.peerId)
  const opened = await decodeBackup(text, 'backup pass')
  assert.equal(opened.identity.peerId, backup.identity.peerId)
  assert.deepEqual(opened.files, FILES)
  assert.equal(opened.keyEncrypted, true)
  assert.doesNotMatch(text, /contacts|bits/, 'nothing of the content in clear')
  await assert.rejects(decodeBackup(text, 'wrong'), WrongPassphraseError)
})

test('a damaged or hostile backup is refused with what is wrong', async () => {
  const { backup, text } = await aBackup()
  const doc = JSON.parse(text)
  const other = await createIdentity()
  const variant = (change: (d: any) => void): string => { const d = structuredClone(doc); change(d); return JSON.stringify(d) }
  // Another peer-id: the AAD no longer matches, so it does not open (never the other's key).
  await assert.rejects(decodeBackup(variant(d => { d.peerId = other.peerId }), 'backup pass'), WrongPassphraseError)
  await assert.rejects(decodeBackup(variant(d => { d.v = 2 }), 'backup pass'), UnsupportedVersionError)
  for (const [change, why] of [
    [(d: any) => { d.type = 'ipms-identity' }, /"type"/],
    [(d: any) => { d.v = '1' }, /"v"/],
    [(d: any) => { d.peerId = 'QmNotOurs' }, /"peerId"/],
    [(d: any) => { d.created = -1 }, /"created"/],
    [(d: any) => { d.encrypted.N = 2 ** 30 }, /scrypt parameters/],
    [(d: any) => { d.encrypted.kdf = 'argon2id' }, /scrypt/],
    [(d: any) => { d.encrypted.ct = 'A'.repeat(20 * 1024 * 1024) }, /ciphertext|over/],
    [(d: any) => { d.encrypted.salt = 'AAAA' }, /salt/]
  ] as const) {
    const started = Date.now()
    await assert.rejects(decodeBackup(variant(change), 'backup pass'), (err: unknown) => err instanceof InvalidRecordError && why.test(err.message))
    assert.ok(Date.now() - started < 5000, 'refused before any slow work')
  }
  await assert.rejects(decodeBackup('not json', 'x'), InvalidRecordError)
  // Sealed right, but carrying a file a backup never holds, or a key of another peer.
  const sealed = async (content: unknown, peerId = backup.identity.peerId): Promise<string> => JSON.stringify({ ...doc, peerId, encrypted: await sealWithPassphrase(utf8Bytes(JSON.stringify(content)), 'p', taggedBytes(TAG_BACKUP, utf8Bytes(peerId)), FAST) })
  const realKey = Buffer.from(privateKeyToProtobuf(backup.identity.privateKey)).toString('base64')
  await assert.rejects(decodeBackup(await sealed({ key: realKey, keyEncrypted: false, files: { '../identity.json': '{}' } }), 'p'), /never holds/)
  await assert.rejects(decodeBackup(await sealed({ key: realKey, keyEncrypted: false, files: { 'config.json': '{"bits":"many"}' } }), 'p'), /bits/)
  await assert.rejects(decodeBackup(await sealed({ key: realKey, keyEncrypted: false, files: {} }, other.peerId), 'p'), /not the key of its peer-id/)
  await assert.rejects(decodeBackup(await sealed({ key: realKey, keyEncrypted: 'yes', files: {} }), 'p'), /keyEncrypted/)
})

test('a restore writes the files and the key (under the passphrase when it was encrypted); over an identity only when told, nothing written otherwise', async () => {
  const home = await mkdtemp(join(tmpdir(), 'ipms-backup-'))
  try {
    const { backup } = await aBackup()
    await writeFile(join(home, 'hosts.json'), '{"v":1,"hosts":[]}')
    await restoreBackup(home, backup, { passphrase: 'backup pass', kdf: FAST })
    assert.deepEqual((await readdir(home)).sort(), ['config.json', 'contacts.json', 'identity.json'], 'a file the backup does not carry is removed')
    assert.equal(await readFile(join(home, 'config.json'), 'utf8'), FILES['config.json'])
    assert.equal((await readIdentityInfo(home)).encrypted, true)
    assert.equal((await loadIdentity(home, { passphrase: 'backup pass' })).peerId, backup.identity.peerId)

    const other = await createIdentity()
    const second = { ...backup, identity: other, keyEncrypted: false, files: { 'config.json': '{"bits":12}\n' } }
    await assert.rejects(restoreBackup(home, second), IdentityExistsError)
    assert.equal(await readFile(join(home, 'config.json'), 'utf8'), FILES['config.json'], 'nothing written')
    await restoreBackup(home, second, { overwrite: true })
    assert.equal((await loadIdentity(home)).peerId, other.peerId)
  } finally {
    await rm(home, { recursive: true, force: true })
  }
})
