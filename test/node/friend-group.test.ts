/**
 * A friend group (issue #4): three hosts keep the inboxes of four owners, each under the owner's
 * grant, and replicate them among themselves. Mail is sent by card while every owner is offline;
 * the host that took most of it is then stopped for good; every owner still reads every mail
 * sent to them from the two hosts left.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createCard, type AddressCard } from '../../src/hosting/card.ts'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { readInbox } from '../../src/node/read-inbox.ts'
import { sendMail } from '../../src/node/send-mail.ts'
import type { Inbox } from '../../src/stores/orbitdb/open-inbox.ts'
import { connect } from '../helpers/nodes.ts'
import { replicaPool, type Replica } from '../helpers/replicas.ts'
import { waitFor } from '../helpers/wait.ts'

const BITS = 8
const replica = replicaPool()
let owners: Identity[]
let sender: Identity
before(async () => {
  owners = await Promise.all([0, 1, 2, 3].map(async () => await createIdentity()))
  sender = await createIdentity()
})
after(replica.stopAll)

const cardHost = (r: Replica): { peer: string, addrs: string[] } =>
  ({ peer: r.node.peerId, addrs: r.node.multiaddrs().map(a => a.replace(/\/p2p\/[^/]+$/, '')) })

test('three hosts, four owners: every mail sent while the owners were offline is read after one host is gone for good', async () => {
  const hosts = await Promise.all([0, 1, 2].map(async () => await replica({ grantsFrom: owners })))
  // Each host keeps every owner's inbox; the hosts replicate each one among themselves.
  const inboxes: Inbox[][] = await Promise.all(hosts.map(async h => await Promise.all(owners.map(async o => await h.inbox(o.peerId, BITS)))))
  for (let a = 0; a < hosts.length; a++) {
    for (let b = a + 1; b < hosts.length; b++) {
      await connect(hosts[a]!.node, hosts[b]!.node)
      for (const inbox of inboxes[a]!) await hosts[a]!.sync.syncWith(hosts[b]!.node.peerId, inbox)
    }
  }

  // Cards list the hosts with the first one first: it takes most deliveries.
  const cards: AddressCard[] = owners.map(o => createCard(o, hosts.map(cardHost), BITS))
  const sent = new Map<string, string[]>(owners.map(o => [o.peerId, []]))
  for (let i = 0; i < 12; i++) {
    const to = i % owners.length
    const body = `mail ${i} for owner ${to}`
    await sendMail({ subject: `#${i}`, body }, { from: sender, card: cards[to]! })
    sent.get(owners[to]!.peerId)!.push(body)
  }
  // Every host gets every mail, by replication from the one that took it.
  for (const [h, list] of inboxes.entries()) {
    for (const [o, inbox] of list.entries()) {
      const want = sent.get(owners[o]!.peerId)!.length
      await waitFor([[inbox.events, 'synced'], [inbox.events, 'mail']], async () =>
        (await inbox.pending()).length === want && (await hosts[h]!.sync.missingEnvelopes(inbox)).length === 0, AbortSignal.timeout(20_000))
    }
  }

  await hosts[0]!.cleanup() // gone for good

  for (const owner of owners) {
    const me = await replica({ identity: owner })
    const inbox = await me.inbox(owner.peerId, BITS)
    const { received } = await readInbox({ node: me.node, sync: me.sync, inbox, identity: owner, replicas: [hosts[1]!.node.multiaddrs()[0]!, hosts[2]!.node.multiaddrs()[0]!] })
    assert.deepEqual(received.map(r => r.mail.body).sort(), [...sent.get(owner.peerId)!].sort(), `owner ${owner.peerId}`)
    assert.ok(received.every(r => r.mail.from === sender.peerId))
    await me.cleanup()
  }
})
