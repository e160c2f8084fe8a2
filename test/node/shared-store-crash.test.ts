/**
 * Issue #13: `kill -9` of a host in the middle of a burst of deliveries into many inboxes, whose
 * records share one LevelDB per home (stores/orbitdb/inbox-store.ts): after a restart, every receipted
 * mail is still there, in its own inbox, and opens with its owner's key.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { rm } from 'node:fs/promises'
import { createIdentity } from '../../src/identity/identity.ts'
import { openMail } from '../../src/mail/seal.ts'
import { deliverTo, type Receipt } from '../../src/node/deliver.ts'
import { withFreshSender } from '../../src/node/sender.ts'
import { startDaemon, type Daemon } from '../../examples/ipms-cli.ts'
import { eachLimited, grantedHostHome } from '../helpers/granted-host.ts'
import { replicaPool, stampedMail } from '../helpers/replicas.ts'
import { waitFor } from '../helpers/wait.ts'

const INBOXES = 40
const ROUNDS = 3
const BITS = 0
const CONCURRENCY = 8

const replica = replicaPool()
const daemons: Daemon[] = []
let home: string | undefined
after(async () => {
  for (const d of daemons) await d.stop()
  await replica.stopAll()
  if (home !== undefined) await rm(home, { recursive: true, force: true })
})

test(`kill -9 a host mid-burst into ${INBOXES} inboxes of one store: after a restart every receipted mail is in its inbox and opens for its owner`, { timeout: 240_000 }, async () => {
  const granted = await grantedHostHome(INBOXES, BITS, 'ipms-store-crash-')
  home = granted.home
  const { host: hostIdentity, owners } = granted
  const alice = await createIdentity()
  const first = await startDaemon(home)
  daemons.push(first)

  // Round-robin over the inboxes, CONCURRENCY in flight; the host dies once half have a receipt.
  const requests = await Promise.all(Array.from({ length: INBOXES * ROUNDS }, async (_, i) => ({ owner: i % INBOXES, request: await stampedMail(alice, owners[i % INBOXES]!.peerId, BITS, `burst ${i}`) })))
  const receipts: Array<{ owner: number, receipt: Receipt }> = []
  let failed = 0
  await withFreshSender(async (libp2p, dial) => {
    await dial(first.started.addrs[0] as string)
    await eachLimited(requests, CONCURRENCY, async ({ owner, request }) => {
      try {
        receipts.push({ owner, receipt: await deliverTo(libp2p, hostIdentity.peerId, request, { timeoutMs: 20_000 }) })
        if (receipts.length === requests.length / 2) first.child.kill('SIGKILL')
      } catch {
        failed++
      }
    })
  })
  if (first.child.exitCode === null && first.child.signalCode === null) await once(first.child, 'exit')
  assert.equal(first.child.signalCode, 'SIGKILL')
  assert.ok(receipts.length >= requests.length / 2 && failed > 0, `${receipts.length} receipts, ${failed} failed: the host died mid-burst`)

  // Restarted on the same home; a co-host granted by every owner syncs each inbox from it.
  const second = await startDaemon(home)
  daemons.push(second)
  const coHost = await replica({ grantsFrom: owners })
  await coHost.node.dial(second.started.addrs[0] as string)
  for (let i = 0; i < INBOXES; i++) {
    const mine = receipts.filter(r => r.owner === i).map(r => r.receipt)
    const inbox = await coHost.inbox(owners[i]!.peerId, BITS)
    await coHost.sync.syncWith(hostIdentity.peerId, inbox)
    await waitFor([[inbox.events, 'mail']], async () => {
      const pending = new Set((await inbox.pending()).map(m => m.hash))
      return mine.every(r => pending.has(r.entry))
    }, AbortSignal.timeout(30_000))
    for (const receipt of mine) {
      const bytes = await inbox.getEnvelope(receipt.env)
      assert.ok(bytes !== undefined, `the envelope of receipted mail ${receipt.entry} (inbox ${i}) survived`)
      assert.equal(openMail(bytes, { identity: owners[i]!, inbox: inbox.address }).from, alice.peerId)
    }
  }
})
