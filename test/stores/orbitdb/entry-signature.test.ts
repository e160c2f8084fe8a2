/**
 * The entry signature check a join runs (src/stores/orbitdb/entry-signature.ts) answers as OrbitDB's own
 * `Entry.verify` does, for Ed25519 keys (IPMS nodes', checked on node:crypto) and secp256k1 keys
 * (stock OrbitDB's, handed to OrbitDB's verifier), on valid and tampered entries.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Entry, Identities, KeyStore, MemoryStorage, type IdentitiesInstance, type KeyStoreInstance, type LogEntry, type OrbitDBIdentity } from '@orbitdb/core'
import { verifyEntrySignature } from '../../../src/stores/orbitdb/entry-signature.ts'
import { mailPayload, randomEntryHash, signEntry } from '../../helpers/inbox.ts'
import { makeTempHome } from '../../helpers/nodes.ts'

const INBOX = `/orbitdb/${randomEntryHash()}`
let home: string
let keystore: KeyStoreInstance
let identities: IdentitiesInstance
let ed: OrbitDBIdentity
let secp: OrbitDBIdentity

before(async () => {
  home = await makeTempHome()
  keystore = await KeyStore({ path: join(home, 'keystore') })
  identities = await Identities({ keystore, storage: await MemoryStorage() })
  // As createNode does: an Ed25519 key under the id, and one under its public key that signs entries.
  const addEd25519 = async (id: string): Promise<string> => {
    await keystore.addKey(id, { privateKey: (await generateKeyPair('Ed25519')).raw })
    return Buffer.from((await keystore.getKey(id)).publicKey.raw).toString('hex')
  }
  await addEd25519(await addEd25519('ed-writer'))
  ed = await identities.createIdentity({ id: 'ed-writer' })
  secp = await identities.createIdentity({ id: 'secp-writer' }) // OrbitDB's default: secp256k1
})
after(async () => {
  await keystore.close()
  await rm(home, { recursive: true, force: true })
})

test('valid and tampered entries, Ed25519 and secp256k1 keys: the same verdict as OrbitDB\'s Entry.verify', async () => {
  assert.equal(ed.publicKey.length, 64, 'an Ed25519 writer')
  assert.equal(secp.publicKey.length, 66, 'a secp256k1 writer')
  const cases: Array<[string, Record<string, unknown>, boolean]> = []
  for (const [name, identity] of [['Ed25519', ed], ['secp256k1', secp]] as const) {
    const { entry } = await signEntry(identity, { id: INBOX, payload: mailPayload(INBOX, 0) })
    const other = (await signEntry(identity, { id: INBOX, payload: mailPayload(INBOX, 0, { ts: 1767225600001 }) })).entry
    const stranger = identity === ed ? secp : ed
    const flip = (hex: string): string => `${hex.slice(0, 10)}${hex[10] === '0' ? '1' : '0'}${hex.slice(11)}`
    cases.push(
      [`${name}: as signed`, entry, true],
      [`${name}: another payload`, { ...entry, payload: other.payload }, false],
      [`${name}: another clock`, { ...entry, clock: { ...(entry.clock as object), time: 2 } }, false],
      [`${name}: another id`, { ...entry, id: `/orbitdb/${randomEntryHash()}` }, false],
      [`${name}: a parent added`, { ...entry, next: [randomEntryHash()] }, false],
      [`${name}: another entry's signature`, { ...entry, sig: other.sig }, false],
      [`${name}: one signature bit flipped`, { ...entry, sig: flip(entry.sig as string) }, false],
      [`${name}: signed by another key`, { ...entry, key: stranger.publicKey }, false],
      [`${name}: a truncated signature`, { ...entry, sig: (entry.sig as string).slice(0, 40) }, false]
    )
  }
  for (const [name, entry, valid] of cases) {
    const orbitdb = await Entry.verify(identities, entry as unknown as LogEntry).catch(() => false)
    assert.equal(orbitdb, valid, `OrbitDB on ${name}`)
    assert.equal(await verifyEntrySignature(entry as unknown as Parameters<typeof verifyEntrySignature>[0], identities.verify), valid, name)
  }
})

test('never throws: missing or non-string key and signature, uppercase hex, a payload that cannot be encoded', async () => {
  const { entry } = await signEntry(ed, { id: INBOX, payload: mailPayload(INBOX, 0) })
  const fallback = async (): Promise<boolean> => { throw new Error('the fallback must not be reached') }
  for (const broken of [
    { ...entry, key: undefined },
    { ...entry, sig: 42 },
    { ...entry, sig: (entry.sig as string).toUpperCase() },
    { ...entry, payload: { bad: (): void => {} } },
    { ...entry, payload: { n: Number.NaN } }
  ]) {
    assert.equal(await verifyEntrySignature(broken as Parameters<typeof verifyEntrySignature>[0], fallback), false)
  }
})
