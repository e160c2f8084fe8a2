/**
 * The pool of open hosted inboxes (src/node/inbox-pool.ts) with stand-in inboxes: one opening for
 * concurrent leases, the least recently used idle inbox closed past the bound, never one in use,
 * a reopening that waits for the closing of the same address, a failed opening forgotten.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createInboxPool } from '../../src/node/inbox-pool.ts'
import type { Inbox } from '../../src/stores/orbitdb/open-inbox.ts'

/** Stand-in inboxes and a log of what the pool did with them. */
function fakes () {
  const log: string[] = []
  let gate: Promise<void> | undefined
  const open = (address: string) => async (): Promise<Inbox> => {
    log.push(`open ${address}`)
    return { address } as unknown as Inbox
  }
  const pool = createInboxPool({
    max: 2,
    close: async inbox => {
      await gate
      log.push(`close ${inbox.address}`)
    }
  })
  return { log, open, pool, hold: (p: Promise<void>) => { gate = p } }
}

/** Let the closings started so far finish. */
const settle = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

test('concurrent leases share one opening; idle inboxes past the bound are closed, least recently used first', async () => {
  const { log, open, pool } = fakes()
  const [a1, a2] = await Promise.all([pool.lease('a', open('a')), pool.lease('a', open('a'))])
  assert.equal(a1.inbox, a2.inbox)
  a1.release(); a2.release()
  for (const address of ['b', 'a', 'c']) (await pool.lease(address, open(address))).release()
  await settle()
  assert.deepEqual(log, ['open a', 'open b', 'open c', 'close b'], 'b was the least recently used')
  assert.deepEqual(pool.opened().map(i => i.address).sort(), ['a', 'c'])
})

test('an inbox in use is never closed: the bound is exceeded while more are leased', async () => {
  const { log, open, pool } = fakes()
  const held = await Promise.all(['a', 'b', 'c'].map(async address => await pool.lease(address, open(address))))
  await settle()
  assert.equal(pool.size(), 3)
  assert.ok(!log.some(l => l.startsWith('close')))
  held[1]!.release()
  await settle()
  assert.deepEqual(log.filter(l => l.startsWith('close')), ['close b'])
  held[0]!.release(); held[2]!.release()
})

test('a lease during a closing of the same address waits for it, then opens again; dropped inboxes close once idle', async () => {
  const { log, open, pool, hold } = fakes()
  let finish: () => void = () => {}
  hold(new Promise(resolve => { finish = resolve }))
  const a = await pool.lease('a', open('a'))
  pool.drop('a')
  assert.ok(pool.inUse('a'))
  a.release() // closing starts, held by the gate
  const again = pool.lease('a', open('a'))
  await settle()
  assert.deepEqual(log, ['open a'], 'no second opening before the closing ends')
  finish()
  ;(await again).release()
  assert.deepEqual(log, ['open a', 'close a', 'open a'])
})

test('a failed opening is forgotten: the next lease opens again', async () => {
  const { pool } = fakes()
  await assert.rejects(pool.lease('a', async () => { throw new Error('EMFILE') }), /EMFILE/)
  assert.equal(pool.size(), 0)
  const lease = await pool.lease('a', async () => ({ address: 'a' }) as unknown as Inbox)
  assert.equal(lease.inbox.address, 'a')
  lease.release()
  await pool.closeAll()
  assert.equal(pool.size(), 0)
  await assert.rejects(pool.lease('a', async () => ({ address: 'a' }) as unknown as Inbox), /stopping/, 'nothing opens once closed')
})
