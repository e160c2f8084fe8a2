/**
 * A full disk (PROTOCOL.md §12.1), on a real small filesystem (test/helpers/small-disk.ts: a tmpfs
 * filled to the last byte): a host refuses deliveries with ERR_STORAGE_FULL and says so ('full'),
 * then accepts again once space is freed, without a restart; an owner whose home is full gets
 * StorageFullError (exit 74), prunes nothing, and reads everything once space is back.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { exitCodeFor, EXIT } from '../../src/cli/exit-codes.ts'
import { DeliveryRefusedError, StorageFullError } from '../../src/errors.ts'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { deliverTo, type Receipt } from '../../src/node/deliver.ts'
import { readInbox } from '../../src/node/read-inbox.ts'
import { withFreshSender } from '../../src/node/sender.ts'
import { openInbox } from '../../src/stores/orbitdb/open-inbox.ts'
import { startTestNode } from '../helpers/nodes.ts'
import { putMail, replicaPool, stampedMail } from '../helpers/replicas.ts'
import { withSmallDisk } from '../helpers/small-disk.ts'
import { waitFor } from '../helpers/wait.ts'

const BITS = 0
const DISK_MIB = 32
let owner: Identity, alice: Identity
const replica = replicaPool()
before(async () => { [owner, alice] = await Promise.all([createIdentity(), createIdentity()]) })
after(replica.stopAll)

let counter = 0
const stamped = async (bodyBytes = 64): ReturnType<typeof stampedMail> => await stampedMail(alice, owner.peerId, BITS, `mail ${counter++} `.padEnd(bodyBytes, '.'))

test('a host on a full disk refuses with ERR_STORAGE_FULL and says so, then accepts again once space is freed, without a restart', async () => {
  await withSmallDisk(DISK_MIB, async (disk) => {
    const host = await replica({ home: join(disk.path, 'host'), policy: { deliveriesPerWindow: 10_000 } })
    const inbox = await host.inbox(owner.peerId, BITS)
    const events: string[] = []
    host.node.storage.events.addEventListener('full', () => { events.push('full') })
    host.node.storage.events.addEventListener('recovered', () => { events.push('recovered') })
    const receipts: Receipt[] = []
    await withFreshSender(async (libp2p, dial) => {
      await dial(host.node.multiaddrs()[0]!)
      // Mail refused for the full disk: the sender keeps it (its outbox) and delivers it again later.
      const refused: Array<Awaited<ReturnType<typeof stamped>>> = []
      const deliver = async (bodyBytes?: number): Promise<void> => {
        const mail = await stamped(bodyBytes)
        try {
          receipts.push(await deliverTo(libp2p, host.node.peerId, mail, { timeoutMs: 60_000 }))
        } catch (err) {
          if ((err as DeliveryRefusedError).code === 'ERR_STORAGE_FULL') refused.push(mail)
          throw err
        }
      }
      await deliver()

      // Room for LevelDB's log to fill its 4 MiB memtable, not for the table a compaction then
      // writes: the failure that LevelDB keeps (and repeats for every later write) until reopened.
      await disk.fill(6 * 2 ** 20)
      // What still fits is stored (and receipted); then a refusal.
      let refusal: DeliveryRefusedError | undefined
      for (let i = 0; i < 60 && refusal === undefined; i++) {
        try { await deliver(200_000) } catch (err) {
          if (!(err instanceof DeliveryRefusedError)) throw err
          refusal = err
        }
      }
      assert.equal(refusal?.code, 'ERR_STORAGE_FULL', 'a full disk is refused with its own code, not a broken stream')
      assert.equal(host.node.storage.full, true)
      assert.deepEqual(events, ['full'])
      // Still full: refused again at once.
      await assert.rejects(deliver(), (err: DeliveryRefusedError) => err.code === 'ERR_STORAGE_FULL')

      await disk.free()
      await waitFor([[host.node.storage.events, 'recovered']], () => !host.node.storage.full, AbortSignal.timeout(60_000))
      assert.deepEqual(events, ['full', 'recovered'])
      const before = receipts.length
      for (let i = 0; i < 3; i++) await deliver()
      assert.equal(receipts.length, before + 3)
      // What was refused is delivered again, as an outbox does: each gets its receipt (a mail the
      // host had written before its flush failed gets the receipt of that one entry).
      for (const mail of refused) receipts.push(await deliverTo(libp2p, host.node.peerId, mail, { timeoutMs: 60_000 }))
    })
    // Every receipted mail is pending in the host's inbox, once (the index keeps one per envelope),
    // and nothing else is: no mail the sender was never told about.
    const pending = new Set((await inbox.pending()).map(p => p.env))
    for (const r of receipts) {
      assert.ok(pending.has(r.env), `receipted ${r.env} is kept`)
      assert.ok(await inbox.hasEnvelope(r.env), `receipted ${r.env} has its envelope`)
    }
    assert.equal(pending.size, new Set(receipts.map(r => r.env)).size)
  })
})

test('an owner syncing into a full home gets StorageFullError (exit 74) and prunes nothing; once space is back it reads every mail', async () => {
  await withSmallDisk(DISK_MIB, async (disk) => {
    const host = await replica({ grantsFrom: [owner] })
    const hosted = await host.inbox(owner.peerId, BITS)
    const sent = []
    for (let i = 0; i < 5; i++) sent.push(await putMail(hosted, alice, `waiting mail ${i} `.repeat(200)))
    const me = await replica({ home: join(disk.path, 'owner'), identity: owner })
    const inbox = await me.inbox(owner.peerId, BITS)
    const read = async (): ReturnType<typeof readInbox> =>
      await readInbox({ node: me.node, sync: me.sync, inbox, identity: owner, replicas: [host.node.multiaddrs()[0]!] })

    await disk.fill()
    await assert.rejects(read(), (err: unknown) => {
      assert.ok(err instanceof StorageFullError, `StorageFullError, got ${String(err)}`)
      assert.equal(exitCodeFor(err.code), EXIT.STORAGE_FULL)
      assert.equal(EXIT.STORAGE_FULL, 74)
      return true
    })
    assert.equal((await hosted.pending()).length, sent.length, 'nothing pruned on the host')

    await disk.free()
    await waitFor([[me.node.storage.events, 'recovered']], () => !me.node.storage.full, AbortSignal.timeout(60_000))
    const result = await read()
    assert.deepEqual(result.received.map(r => r.entry).sort(), sent.map(s => s.hash).sort())
  })
})

test('a node that cannot open its stores on a full home fails with StorageFullError (exit 74), not an unexpected error', async () => {
  await withSmallDisk(DISK_MIB, async (disk) => {
    const home = join(disk.path, 'owner')
    const first = await replica({ home, identity: owner })
    const inbox = await first.inbox(owner.peerId, BITS)
    // Enough in LevelDB's logs that opening them again writes tables.
    for (let i = 0; i < 8; i++) await putMail(inbox, alice, `kept mail ${i} `.repeat(20_000))
    await first.cleanup()
    await disk.fill()
    await assert.rejects(startTestNode({ home, identity: owner }).then(async (n) => { await (await openInbox(n.node.orbitdb, owner.peerId, BITS)).close(); await n.cleanup() }), (err: unknown) => {
      assert.ok(err instanceof StorageFullError, `StorageFullError, got ${String(err)}`)
      return true
    })
  })
})
