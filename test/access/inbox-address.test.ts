import { before, test } from 'node:test'
import assert from 'node:assert/strict'
import { peerIdFromString } from '@libp2p/peer-id'
import { accessBlock, inboxAddress, inboxParams, paramsFromAccessBlock } from '../../src/access/inbox-address.ts'
import * as dagCbor from '@ipld/dag-cbor'
import { DEFAULT_POW_BITS, INBOX_RULES_VERSION } from '../../src/constants.ts'
import { InvalidArgumentError, InvalidPeerIdError } from '../../src/errors.ts'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'

let alice: Identity, bob: Identity
before(async () => { [alice, bob] = await Promise.all([createIdentity(), createIdentity()]) })

test('an inbox address is computed offline from the peer-id alone, the same every time', () => {
  const address = inboxAddress(alice.peerId)
  assert.match(address, /^\/orbitdb\/zdpu[1-9A-HJ-NP-Za-km-z]+$/)
  assert.equal(inboxAddress(alice.peerId), address)
  assert.equal(inboxAddress(alice.peerId, DEFAULT_POW_BITS), address, 'the default difficulty')
  assert.equal(inboxAddress(peerIdFromString(alice.peerId).toCID().toString()), address, 'any peer-id form, one address')
})

test('another owner or difficulty gives another address', () => {
  const addresses = new Set([inboxAddress(alice.peerId), inboxAddress(bob.peerId), inboxAddress(alice.peerId, 20), inboxAddress(alice.peerId, 0)])
  assert.equal(addresses.size, 4)
})

test('the rules version is part of the access block, so a rule change changes the address', () => {
  const params = inboxParams(alice.peerId, 20)
  assert.equal(params.rules, INBOX_RULES_VERSION)
  const other = accessBlock({ ...params, rules: params.rules + 1 })
  assert.notEqual(other.hash, accessBlock(params).hash)
  assert.equal(paramsFromAccessBlock(dagCbor.decode(other.bytes)), undefined, 'a block of other rules is not read as ours')
  assert.deepEqual(paramsFromAccessBlock(dagCbor.decode(accessBlock(params).bytes)), params)
})

test('bad owners and difficulties are refused with typed errors', () => {
  assert.throws(() => inboxAddress('nobody'), InvalidPeerIdError)
  for (const bits of [-1, 41, 1.5, Number.NaN]) assert.throws(() => inboxAddress(alice.peerId, bits), InvalidArgumentError)
  assert.equal(paramsFromAccessBlock({ type: 'ipms-inbox', owner: 'x', bits: 1, rules: 1 }), undefined)
  assert.equal(paramsFromAccessBlock(null), undefined)
})
