/**
 * An inbox in one page: a host keeps Bob's inbox, mail lands there while Bob is offline, Bob comes
 * online, reads it (sender proven), and the host forgets what he read. Two real nodes on
 * 127.0.0.1 in temporary homes. Run: `npx node examples/inbox.ts`.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createIdentity, createInboxSync, createNode, inboxAddress, openInbox, powChallenge, readInbox, sealMail, solvePow
} from '../src/index.ts'

const BITS = 16 // a low difficulty for the example; inboxes default to 24
const homes = await Promise.all([mkdtemp(join(tmpdir(), 'ipms-host-')), mkdtemp(join(tmpdir(), 'ipms-bob-'))])
const [alice, bob, hostIdentity] = await Promise.all([createIdentity(), createIdentity(), createIdentity()])
console.log(`bob's inbox is ${inboxAddress(bob.peerId, BITS)} (computed from his peer-id alone)`)

// A friend's always-online host keeps Bob's inbox and serves it over /ipms/sync.
const host = await createNode({ home: homes[0]!, identity: hostIdentity })
const hostSync = createInboxSync({ libp2p: host.libp2p })
await hostSync.start()
const hosted = await openInbox(host.orbitdb, bob.peerId, BITS)
await hostSync.register(hosted)

// Alice's mail lands on the host while Bob is offline (what delivery does: envelope + stamped entry).
const { envelope, cid } = await sealMail({ subject: 'Lunch?', body: 'Noon at the usual place.\n' }, { from: alice, to: bob.peerId, inbox: hosted.address })
const ts = Date.now()
const pow = await solvePow(powChallenge({ bits: BITS, ts, inbox: hosted.address, envelopeCid: cid }), BITS)
await hosted.putEnvelope(cid.toString(), envelope)
await hosted.add({ op: 'MAIL', v: 1, env: cid.toString(), size: envelope.byteLength, ts, pow })
console.log(`the host holds ${(await hosted.pending()).length} mail for bob`)

// Bob comes online, reads from the host, and the host forgets what he read.
const me = await createNode({ home: homes[1]!, identity: bob })
const sync = createInboxSync({ libp2p: me.libp2p })
await sync.start()
const inbox = await openInbox(me.orbitdb, bob.peerId, BITS)
await sync.register(inbox)
const hostGone = new Promise<void>(resolve => hosted.events.once('pruned', () => { resolve() }))
const { received } = await readInbox({ node: me, sync, inbox, identity: bob, replicas: [host.multiaddrs()[0]!] })
for (const { mail } of received) console.log(`bob reads "${mail.subject}" from ${mail.from === alice.peerId ? 'alice (signature verified)' : mail.from}`)
await hostGone
console.log(`after the prune the host holds ${(await hosted.pending()).length} mail and ${await hosted.hasEnvelope(cid.toString()) ? 'still' : 'no longer'} the envelope`)

await Promise.all([sync.stop(), hostSync.stop()])
await Promise.all([me.stop(), host.stop()])
await Promise.all(homes.map(async home => await rm(home, { recursive: true, force: true })))
