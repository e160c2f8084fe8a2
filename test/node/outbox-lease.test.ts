/**
 * Outbox leases (issue #11, defect 6): one holder at a time; a lease is stale once its process is
 * gone, once it has expired (a stopped or hung holder), or when it names this process without being
 * held here (a reused pid), and is then taken over; release removes only one's own lease.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { takeLease } from '../../src/node/outbox-lease.ts'

let directory: string
before(async () => { directory = await mkdtemp(join(tmpdir(), 'ipms-lease-')) })
after(async () => { await rm(directory, { recursive: true, force: true }) })

const leaseOf = (id: string, content: Record<string, unknown>): Promise<void> =>
  writeFile(join(directory, `${id}.lease`), JSON.stringify(content))

test('one holder at a time, also within one process; released, it can be taken again; nothing else is left behind', async () => {
  const first = await takeLease(directory, 'a', 60_000)
  assert.ok(first !== undefined)
  assert.equal(await takeLease(directory, 'a', 60_000), undefined, 'held: the second taker skips it')
  await first.release()
  await first.release() // idempotent
  const again = await takeLease(directory, 'a', 60_000)
  assert.ok(again !== undefined)
  await again.release()
  assert.deepEqual(await readdir(directory), [])
})

test('stale leases are taken over: past their expiry though their process lives, naming this pid without being held, unreadable', async () => {
  const now = Date.now()
  await leaseOf('expired', { pid: process.ppid, host: 'h', token: 't', expires: now - 1 })
  await leaseOf('reused-pid', { pid: process.pid, host: 'h', token: 'from an earlier process', expires: now + 60_000 })
  await writeFile(join(directory, 'garbled.lease'), 'not json')
  await leaseOf('live', { pid: process.ppid, host: 'h', token: 't', expires: now + 60_000 })
  for (const id of ['expired', 'reused-pid', 'garbled']) {
    const lease = await takeLease(directory, id, 60_000)
    assert.ok(lease !== undefined, id)
    await lease.release()
  }
  assert.equal(await takeLease(directory, 'live', 60_000), undefined, 'a live process within its lease keeps it')
})

test('renew moves the expiry; release leaves a lease that is no longer ours in place', async () => {
  let clock = 1_000_000
  const lease = await takeLease(directory, 'r', 1000, () => clock)
  assert.ok(lease !== undefined)
  await lease.renew(5000)
  assert.equal(JSON.parse(await readFile(join(directory, 'r.lease'), 'utf8')).expires, clock + 5000)
  // Expired, another holder takes it over; our release must not remove theirs.
  clock += 6000
  await leaseOf('r', { pid: process.ppid, host: 'h', token: 'theirs', expires: clock + 60_000 })
  await lease.release()
  assert.equal(JSON.parse(await readFile(join(directory, 'r.lease'), 'utf8')).token, 'theirs')
})
