/**
 * Crash safety (issue #4): a host process is killed with SIGKILL in the middle of a burst of
 * deliveries. Every mail for which the sender holds a receipt is read by the owner after the host
 * restarts; every mail without one is still in the sender's outbox and arrives after a retry.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { rm } from 'node:fs/promises'
import { createCard } from '../../src/hosting/card.ts'
import { createIdentity, identityFromSeed, type Identity } from '../../src/identity/identity.ts'
import { openOutbox } from '../../src/node/outbox.ts'
import { readInbox } from '../../src/node/read-inbox.ts'
import type { Receipt } from '../../src/node/deliver.ts'
import { makeTempHome } from '../helpers/nodes.ts'
import { freePort, killAll, startChild } from '../helpers/processes.ts'
import { replicaPool } from '../helpers/replicas.ts'

const BITS = 8
const BURST = 16
const replica = replicaPool()
const homes: string[] = []
let owner: Identity, alice: Identity
before(async () => { [owner, alice] = await Promise.all([createIdentity(), createIdentity()]) })
after(async () => {
  await killAll()
  await replica.stopAll()
  await Promise.all(homes.map(async h => await rm(h, { recursive: true, force: true })))
})

/** Start the host process; resolves with its multiaddr once it is READY. */
async function startHost (home: string, seed: string, port: number): Promise<{ child: ChildProcess, address: string }> {
  const { child, ready } = await startChild('host-process.ts', [home, seed, String(port), owner.peerId, String(BITS)], 'READY ', 30_000)
  return { child, address: ready }
}

test('kill -9 a host mid-burst: every receipted mail is read, every other one waits in the outbox and arrives after a retry', async () => {
  const home = await makeTempHome('ipms-crash-host-')
  const senderHome = await makeTempHome('ipms-crash-sender-')
  homes.push(home, senderHome)
  const seed = randomBytes(32).toString('hex')
  const hostIdentity = await identityFromSeed(new Uint8Array(Buffer.from(seed, 'hex')))
  const port = await freePort()
  let host = await startHost(home, seed, port)
  const card = createCard(owner, [{ peer: hostIdentity.peerId, addrs: [`/ip4/127.0.0.1/tcp/${port}`] }], BITS)

  const outbox = openOutbox(senderHome)
  const receipts: Receipt[] = []
  let killed = false
  for (let i = 0; i < BURST; i++) {
    const sending = outbox.send({ subject: `#${i}`, body: `burst mail ${i}` }, { from: alice, card })
    if (i === BURST / 2 && !killed) {
      // In the middle of a delivery: the host dies with this one in flight.
      host.child.kill('SIGKILL')
      killed = true
    }
    const { entry, delivered } = await sending
    if (delivered) receipts.push(...entry.receipts)
  }
  if (host.child.exitCode === null && host.child.signalCode === null) await once(host.child, 'exit')
  const waiting = await outbox.list()
  assert.ok(receipts.length >= 1 && receipts.length < BURST, `some but not all mails got a receipt (${receipts.length})`)
  assert.equal(receipts.length + waiting.length, BURST, 'every mail has a receipt or is in the outbox')

  // The host comes back on the same home: every receipted mail is still there.
  host = await startHost(home, seed, port)
  const me = await replica({ identity: owner })
  const inbox = await me.inbox(owner.peerId, BITS)
  const first = await readInbox({ node: me.node, sync: me.sync, inbox, identity: owner, replicas: [host.address], prune: false })
  const readEntries = new Set(first.received.map(r => r.entry))
  for (const receipt of receipts) assert.ok(readEntries.has(receipt.entry), `receipted mail ${receipt.entry} was read`)

  // The outbox delivers the rest; the owner reads all of them.
  const retried = await outbox.retry({ force: true })
  assert.equal(retried.length, waiting.length)
  assert.deepEqual(await outbox.list(), [])
  const second = await readInbox({ node: me.node, sync: me.sync, inbox, identity: owner, replicas: [host.address] })
  const bodies = new Set([...first.received, ...second.received].map(r => r.mail.body))
  for (let i = 0; i < BURST; i++) assert.ok(bodies.has(`burst mail ${i}`), `mail ${i} arrived`)
})
