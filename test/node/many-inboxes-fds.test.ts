/**
 * Issue #13: a host's open file descriptors do not grow with its inboxes (one store per home,
 * stores/orbitdb/inbox-store.ts). A real `ipms daemon` under `prlimit --nofile=256:256` keeps 500 granted
 * inboxes (the former layout needed 12 descriptors each: 6,000), takes a delivery into each, and
 * serves a sync of each to a co-host.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { createIdentity } from '../../src/identity/identity.ts'
import { deliverTo, type Receipt } from '../../src/node/deliver.ts'
import { withFreshSender } from '../../src/node/sender.ts'
import { startDaemon, type Daemon } from '../../examples/ipms-cli.ts'
import { eachLimited, grantedHostHome } from '../helpers/granted-host.ts'
import { replicaPool, stampedMail } from '../helpers/replicas.ts'
import { waitFor } from '../helpers/wait.ts'

const INBOXES = 500
const FD_LIMIT = 256
const BITS = 0
/** Deliveries and syncs in flight at once. */
const CONCURRENCY = 8

const replica = replicaPool()
let daemon: (Daemon & { started: any }) | undefined
let home: string | undefined
after(async () => {
  await daemon?.stop()
  await replica.stopAll()
  if (home !== undefined) await rm(home, { recursive: true, force: true })
})

test(`a daemon under ulimit -n ${FD_LIMIT} keeps ${INBOXES} inboxes, takes a delivery into each and serves a sync of each`, { timeout: 240_000 }, async (t) => {
  const granted = await grantedHostHome(INBOXES, BITS, 'ipms-many-inboxes-')
  home = granted.home
  const { host: hostIdentity, owners } = granted
  const alice = await createIdentity()

  daemon = await startDaemon(home, [], { wrap: ['prlimit', `--nofile=${FD_LIMIT}:${FD_LIMIT}`, '--'] })
  const pid = daemon.child.pid!
  assert.equal(daemon.started.hosted.length, INBOXES, 'every granted inbox is hosted')
  const hostAddress = daemon.started.addrs[0] as string

  // One delivery into each inbox, over one sender's connection.
  const receipts: Receipt[] = []
  await withFreshSender(async (libp2p, dial) => {
    await dial(hostAddress)
    await eachLimited(owners, CONCURRENCY, async (owner, i) => {
      receipts[i] = await deliverTo(libp2p, hostIdentity.peerId, await stampedMail(alice, owner.peerId, BITS, `to inbox ${i}`), { timeoutMs: 60_000 })
    })
  })
  assert.equal(receipts.filter(r => r !== undefined).length, INBOXES, 'a receipt from every inbox')

  // A co-host (granted by every owner) syncs each inbox from the daemon and gets its mail.
  const coHost = await replica({ grantsFrom: owners })
  await coHost.node.dial(hostAddress)
  await eachLimited(owners, CONCURRENCY, async (owner, i) => {
    const inbox = await coHost.inbox(owner.peerId, BITS)
    await coHost.sync.syncWith(hostIdentity.peerId, inbox)
    await waitFor([[inbox.events, 'mail']], async () => (await inbox.pending()).some(m => m.hash === receipts[i]!.entry && m.env === receipts[i]!.env), AbortSignal.timeout(30_000))
    assert.equal(await inbox.hasEnvelope(receipts[i]!.env), true, `the envelope of inbox ${i} came with the sync`)
  })

  const open = readdirSync(`/proc/${pid}/fd`).length
  assert.ok(open < FD_LIMIT, `${open} descriptors open in the daemon`)
  assert.equal(daemon.child.exitCode, null, 'the daemon still runs')
  assert.deepEqual(daemon.events.filter(e => e.event === 'error' || /EMFILE|too many open files/i.test(JSON.stringify(e))), [])
  t.diagnostic(`daemon: ${open} open descriptors with ${INBOXES} inboxes (limit ${FD_LIMIT})`)
})
