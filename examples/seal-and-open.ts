/**
 * The IPMS foundation in one page: two identities, a sealed mail with a proof-of-work stamp, and
 * the recipient opening it with the sender proven. Run: `npx node examples/seal-and-open.ts`.
 */
import { createIdentity, inboxAddress, openMail, powChallenge, sealMail, solvePow, verifyPow } from '../src/index.ts'

const alice = await createIdentity()
const bob = await createIdentity()
console.log(`alice is ${alice.peerId}`)
console.log(`bob   is ${bob.peerId}`)

// Bob's inbox address, computed from his peer-id alone: it binds the envelope to his inbox.
const inbox = inboxAddress(bob.peerId)
const sealed = await sealMail({ subject: 'Lunch?', body: 'Noon at the usual place.\n' }, { from: alice, to: bob.peerId, inbox })
console.log(`sealed ${sealed.envelope.byteLength} bytes as ${sealed.cid.toString()}`)

const bits = 16
const challenge = powChallenge({ bits, ts: Date.now(), inbox, envelopeCid: sealed.cid })
const nonce = await solvePow(challenge, bits)
console.log(`proof-of-work at ${bits} bits: ${Buffer.from(nonce).toString('hex')} (valid: ${verifyPow(challenge, bits, nonce)})`)

const mail = openMail(sealed.envelope, { identity: bob, inbox })
console.log(`bob reads "${mail.subject}" from ${mail.from === alice.peerId ? 'alice (signature verified)' : mail.from}`)
