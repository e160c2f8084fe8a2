/**
 * A host's event stream on a real host (a home node: hosting, delivery; src/host-events/host.ts)
 * read by the owner's client (src/host-events/client.ts, `watchHost`): mail delivered by a
 * sender becomes a `mail` event (entry, envelope, size, arrival; no plaintext, no sender); a
 * client whose connection drops mid-stream, and stays away while more mail comes, resumes and
 * gets each mail exactly once; a read (PRUNE) becomes `pruned`; a host that keeps no grant of the
 * owner's is said plainly.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { watchHost, type WatchItem } from '../../src/host-events/client.ts'
import { NotFoundError } from '../../src/errors.ts'
import { readInbox } from '../../src/node/read-inbox.ts'
import { cuttableTransport, startEventsHost, BITS, type EventsHost } from '../helpers/host-events.ts'
import { replicaPool } from '../helpers/replicas.ts'

let host: EventsHost
let owner: Identity
const replica = replicaPool()
before(async () => {
  owner = await createIdentity()
  host = await startEventsHost()
  await host.accept(owner)
})
after(async () => {
  await replica.stopAll()
  await host.stop()
})

/** Pull items from a watch until `until` holds; the items seen. */
async function readUntil (watch: AsyncGenerator<WatchItem>, seen: WatchItem[], until: (seen: WatchItem[]) => boolean): Promise<void> {
  while (!until(seen)) {
    const next = await watch.next()
    assert.ok(next.done !== true, 'the watch ended')
    seen.push(next.value)
  }
}
const mails = (seen: WatchItem[]): string[] => seen.flatMap(i => i.type === 'mail' ? [i.data.entry] : [])

test('a client that drops mid-stream and resumes gets each mail exactly once', { timeout: 120_000 }, async () => {
  const controller = new AbortController()
  const transport = cuttableTransport(host.url)
  const watch = watchHost({ identity: owner, transport, hostPeer: host.peerId, signal: controller.signal, retryMs: [50] })
  const seen: WatchItem[] = []
  await readUntil(watch, seen, s => s.some(i => i.type === 'connected'))
  const first = await host.deliver(owner, 'one')
  await readUntil(watch, seen, s => mails(s).length === 1)
  const mail = seen.find(i => i.type === 'mail')!
  assert.ok(mail.type === 'mail')
  assert.deepEqual(Object.keys(mail.data).sort(), ['arrived', 'entry', 'env', 'size'], 'what the host sees, nothing of the sender or the text')
  assert.equal(mail.data.entry, first)
  assert.ok(Math.abs(mail.data.arrived - Date.now()) < 60_000)

  // The connection drops; the client stays away (its requests held) while two more mails come.
  transport.hold()
  transport.cut()
  await readUntil(watch, seen, s => s.some(i => i.type === 'disconnected'))
  const more = [await host.deliver(owner, 'two'), await host.deliver(owner, 'three')]
  transport.release()
  await readUntil(watch, seen, s => mails(s).length === 3)
  const last = await host.deliver(owner, 'four')
  await readUntil(watch, seen, s => mails(s).length === 4)
  assert.deepEqual(mails(seen), [first, ...more, last], 'each mail once, in order')
  assert.equal(seen.filter(i => i.type === 'reset').length, 0)
  // The reconnection resumed with the last id given, on the bearer token (no new handshake).
  const resumed = transport.requests.at(-1)!
  assert.equal(resumed['last-event-id'], mail.id)
  assert.match(String(resumed.authorization), /^libp2p-PeerID bearer=/)

  // The owner reads its inbox: the host drops the mail, the stream says so.
  const me = await replica({ identity: owner })
  const mine = await me.inbox(owner.peerId, BITS)
  const read = await readInbox({ node: me.node, sync: me.sync, inbox: mine, identity: owner, replicas: [host.running.node.multiaddrs()[0]!] })
  assert.equal(read.received.length, 4)
  await readUntil(watch, seen, s => s.filter(i => i.type === 'pruned').flatMap(i => i.type === 'pruned' ? i.data.envelopes : []).length === 4)
  controller.abort()
  assert.equal((await watch.next()).done, true, 'the watch ends quietly on abort')
})

test('a host that keeps no inbox of the owner\'s says so (NotFoundError), after the handshake', async () => {
  const stranger = await createIdentity()
  const watch = watchHost({ identity: stranger, transport: cuttableTransport(host.url), signal: AbortSignal.timeout(60_000) })
  await assert.rejects(watch.next(), NotFoundError)
})

test('over libp2p streams: a client with only the host\'s multiaddrs (the card) gets the same stream, and resumes', { timeout: 120_000 }, async () => {
  const { libp2pTransport } = await import('../../src/host-events/libp2p-client.ts')
  const owner2 = await createIdentity()
  await host.accept(owner2)
  const inner = await libp2pTransport(host.card(owner2).hosts[0]!)
  let current: import('node:http').IncomingMessage | undefined
  const transport = { ...inner, get: async (...args: Parameters<typeof inner.get>) => (current = await inner.get(...args)) }
  const controller = new AbortController()
  const watch = watchHost({ identity: owner2, transport, hostPeer: host.peerId, signal: controller.signal, retryMs: [50] })
  const seen: WatchItem[] = []
  try {
    await readUntil(watch, seen, s => s.some(i => i.type === 'connected'))
    const first = await host.deliver(owner2, 'over libp2p')
    await readUntil(watch, seen, s => mails(s).length === 1)
    current?.destroy(new Error('cut by the test'))
    await readUntil(watch, seen, s => s.some(i => i.type === 'disconnected'))
    const second = await host.deliver(owner2, 'while away, maybe')
    await readUntil(watch, seen, s => mails(s).length === 2)
    assert.deepEqual(mails(seen), [first, second])
  } finally {
    controller.abort()
    await watch.return(undefined)
    await inner.close()
  }
})
