/**
 * Size-scaled proof-of-work (PROTOCOL §5.2) through a real delivery: a large envelope stamped at
 * the inbox's base difficulty is refused with ERR_BAD_POW; stamped at `requiredPowBits` it gets a
 * receipt. And `sendMail`'s own stamping (prepareMail) reaches the required bits.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { CID } from 'multiformats/cid'
import { mailPayloadProblem } from '../../src/access/payloads.ts'
import { powChallenge, requiredPowBits, solvePowSync } from '../../src/crypto/pow/index.ts'
import { DeliveryRefusedError } from '../../src/errors.ts'
import { createIdentity } from '../../src/identity/identity.ts'
import { sealMail } from '../../src/mail/seal.ts'
import { deliverTo } from '../../src/node/deliver.ts'
import { prepareMail } from '../../src/node/send-mail.ts'
import { assertProblem, mailPayload } from '../helpers/inbox.ts'
import { connect } from '../helpers/nodes.ts'
import { replicaPool } from '../helpers/replicas.ts'

const BITS = 6
const replica = replicaPool()
after(replica.stopAll)

test('a 200 KB envelope stamped at the inbox\'s bits is refused (as for an inbox not kept here, §12); stamped at requiredPowBits (1 more) it gets a receipt', async () => {
  const [owner, alice] = await Promise.all([createIdentity(), createIdentity()])
  const [host, sender] = await Promise.all([replica(), replica()])
  const inbox = await host.inbox(owner.peerId, BITS)
  await connect(sender.node, host.node)
  const sealed = await sealMail({ subject: 'large', body: 'x'.repeat(200_000) }, { from: alice, to: owner.peerId, inbox: inbox.address })
  const size = sealed.envelope.byteLength
  const required = requiredPowBits(BITS, size)
  assert.equal(required, BITS + 1, `a ${size}-byte envelope asks 1 more bit`)

  // At the base difficulty: a stamp that reaches BITS but not `required` (found by searching on).
  const ts = Date.now()
  const base = powChallenge({ bits: BITS, ts, inbox: inbox.address, envelopeCid: sealed.cid })
  const cheap = { op: 'MAIL' as const, v: 1 as const, env: sealed.cid.toString(), size, ts, pow: solvePowSync(base, BITS) }
  // Rarely that stamp also meets the required challenge: search on from the next nonce.
  for (let i = 0; i < 4 && mailPayloadProblem(cheap, inbox.address, BITS) === undefined; i++) cheap.pow = solvePowSync(base, BITS, Buffer.from(cheap.pow).readBigUInt64BE() + 1n)
  assertProblem(mailPayloadProblem(cheap, inbox.address, BITS), 'ERR_BAD_POW', /proof-of-work/)
  await assert.rejects(deliverTo(sender.node.libp2p, host.node.peerId, { inbox: inbox.address, mail: cheap, envelope: sealed.envelope }),
    (err: unknown) => err instanceof DeliveryRefusedError && err.code === 'ERR_NOT_HOSTED')

  const paid = mailPayload(inbox.address, BITS, { envelopeCid: sealed.cid, size, ts })
  const receipt = await deliverTo(sender.node.libp2p, host.node.peerId, { inbox: inbox.address, mail: paid, envelope: sealed.envelope })
  assert.equal(receipt.env, sealed.cid.toString())
  assert.deepEqual((await inbox.pending()).map(m => m.env), [receipt.env])

  // The sender's own stamping pays the same.
  const prepared = await prepareMail({ subject: 'large', body: 'y'.repeat(200_000) }, { from: alice, card: { owner: owner.peerId, bits: BITS, hosts: [] } })
  assert.equal(mailPayloadProblem(prepared.payload, prepared.inbox, BITS), undefined)
  const env = CID.parse(prepared.payload.env)
  const baseOnly = powChallenge({ bits: BITS, ts: prepared.payload.ts, inbox: prepared.inbox, envelopeCid: env })
  assert.notDeepEqual(baseOnly, powChallenge({ bits: requiredPowBits(BITS, prepared.payload.size), ts: prepared.payload.ts, inbox: prepared.inbox, envelopeCid: env }), 'the challenge commits the required bits')
})
