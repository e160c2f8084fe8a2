import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { inspect } from 'node:util'
import { generateKeyPair, privateKeyFromRaw, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ed25519 } from '@noble/curves/ed25519.js'
import { InvalidArgumentError, UnsupportedKeyTypeError } from '../../src/errors.ts'
import { createIdentity, identityFromPrivateKey, identityFromSeed } from '../../src/identity/identity.ts'
import type { Ed25519PrivateKey, Identity } from '../../src/identity/identity.ts'

/** Every spelling of the identity's secrets that could end up in a log. */
function secretSpellings (identity: Identity): string[] {
  const out: string[] = []
  for (const bytes of [identity.seed, identity.privateKey.raw, privateKeyToProtobuf(identity.privateKey)]) {
    const buffer = Buffer.from(bytes)
    out.push(buffer.toString('hex'), buffer.toString('base64'), buffer.toString('base64url'))
    // Also a run of the bytes as util.inspect prints a Uint8Array (`12, 34, …`).
    out.push(Array.from(bytes.subarray(0, 8)).join(', '))
  }
  return out
}

describe('identity', () => {
  it('creates an Ed25519 identity whose fields agree with libp2p', async () => {
    const me = await createIdentity()
    assert.match(me.peerId, /^12D3KooW/)
    assert.equal(me.peerId, peerIdFromPrivateKey(me.privateKey).toString())
    assert.equal(me.publicKey.byteLength, 32)
    assert.equal(me.seed.byteLength, 32)
    assert.deepEqual(me.publicKey, ed25519.getPublicKey(me.seed))
    assert.equal(me.privateKey.type, 'Ed25519')
    assert.ok(Object.isFrozen(me))
    const other = await createIdentity()
    assert.notEqual(other.peerId, me.peerId)
  })

  it('is deterministic from a seed and round-trips through its private key', async () => {
    const seed = new Uint8Array(32).fill(7)
    const a = await identityFromSeed(seed)
    const b = await identityFromSeed(seed)
    assert.equal(a.peerId, b.peerId)
    assert.deepEqual(a.seed, seed)
    assert.equal(identityFromPrivateKey(a.privateKey).peerId, a.peerId)
    await assert.rejects(identityFromSeed(new Uint8Array(31)), (err: unknown) => err instanceof InvalidArgumentError && err.code === 'ERR_INVALID_ARGUMENT')
  })

  it('never shows its secrets in JSON or util.inspect', async () => {
    const me = await createIdentity()
    const outputs = [
      JSON.stringify(me),
      JSON.stringify({ nested: { me } }),
      inspect(me),
      inspect(me, { showHidden: true, depth: Infinity }),
      inspect({ nested: [me] }, { showHidden: true, depth: Infinity }),
      String(me),
      `${JSON.stringify({ ...me })}`,
      Object.keys(me).join(',')
    ]
    for (const output of outputs) {
      for (const secret of secretSpellings(me)) assert.ok(!output.includes(secret), `leak in ${output.slice(0, 80)}`)
    }
    assert.deepEqual(JSON.parse(JSON.stringify(me)), { peerId: me.peerId })
    assert.equal(inspect(me), `Identity(${me.peerId})`)
    assert.deepEqual(Object.keys(me).sort(), ['peerId', 'publicKey'])
    // The secrets are still there for whoever asks for them by name.
    assert.equal(me.seed.byteLength, 32)
  })

  it('refuses non-Ed25519 keys and inconsistent Ed25519 keys', async () => {
    const unsupported = (err: unknown): boolean => err instanceof UnsupportedKeyTypeError && err.code === 'ERR_UNSUPPORTED_KEY_TYPE'
    const secp = await generateKeyPair('secp256k1')
    assert.throws(() => identityFromPrivateKey(secp as unknown as Ed25519PrivateKey), unsupported)
    assert.throws(() => identityFromPrivateKey(null as unknown as Ed25519PrivateKey), unsupported)
    // seed of one key with the public key of another: libp2p accepts it, IPMS must not.
    const a = await generateKeyPair('Ed25519')
    const b = await generateKeyPair('Ed25519')
    const mixed = privateKeyFromRaw(Uint8Array.from([...a.raw.subarray(0, 32), ...b.publicKey.raw])) as Ed25519PrivateKey
    assert.throws(() => identityFromPrivateKey(mixed), (err: unknown) => err instanceof InvalidArgumentError && err.code === 'ERR_INVALID_ARGUMENT')
  })
})
