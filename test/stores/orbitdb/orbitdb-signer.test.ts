/** OrbitDB's keystore with cached Ed25519 signing: the same signatures as @libp2p/crypto's, other keys untouched. */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { KeyStore } from '@orbitdb/core'
import { withCachedSigning } from '../../../src/stores/orbitdb/orbitdb-signer.ts'
import { makeTempHome } from '../../helpers/nodes.ts'

const homes: string[] = []
after(async () => { await Promise.all(homes.map(async h => await rm(h, { recursive: true, force: true }))) })

test('an Ed25519 key signs byte for byte as before; a secp256k1 key is returned as it is', async () => {
  const home = await makeTempHome()
  homes.push(home)
  const keystore = await KeyStore({ path: join(home, 'keystore') })
  try {
    await keystore.addKey('ed', { privateKey: (await generateKeyPair('Ed25519')).raw })
    await keystore.createKey('secp')
    const fast = withCachedSigning(keystore)
    const data = crypto.randomBytes(300)
    const original = await keystore.getKey('ed')
    const wrapped = await fast.getKey('ed')
    assert.deepEqual(Buffer.from(await wrapped.sign(data)), Buffer.from(await original.sign(data)))
    assert.equal(await original.publicKey.verify(data, await wrapped.sign(data)), true)
    assert.deepEqual(wrapped.publicKey.raw, original.publicKey.raw)
    assert.equal(await fast.getKey('secp'), await keystore.getKey('secp'))
    assert.equal(await fast.getKey('missing'), undefined)
  } finally {
    await keystore.close()
  }
})
