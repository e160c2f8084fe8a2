/**
 * When joined entries are on disk (src/stores/orbitdb/durable-joins.ts, PROTOCOL.md §12.1): a flush only
 * when joins ended since the last synced write, shared by concurrent waiters; an append covers the
 * joins before it. The flush here is a counter with a gate (the real one: durable-writes.test.ts).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { durableJoins } from '../../../src/stores/orbitdb/durable-joins.ts'

/** A flush that counts its runs and, while `gate` is set, waits for it to open. */
function countingFlush (): { flush: () => Promise<void>, runs: () => number, hold: () => () => void } {
  let runs = 0
  let gate: Promise<void> | undefined
  return {
    flush: async () => { runs++; await gate },
    runs: () => runs,
    hold: () => {
      let open = (): void => {}
      gate = new Promise(resolve => { open = resolve })
      return () => { gate = undefined; open() }
    }
  }
}

test('the first wait after open flushes once (what is on disk may not be synced); no join since: no flush', async () => {
  const f = countingFlush()
  const joins = durableJoins(f.flush)
  await joins.durable()
  await joins.durable()
  assert.equal(f.runs(), 1)
  joins.joined()
  await joins.durable()
  assert.equal(f.runs(), 2)
})

test('waiters of one join share one flush; a join ended during a flush needs one more', async () => {
  const f = countingFlush()
  const joins = durableJoins(f.flush)
  joins.joined()
  const open = f.hold()
  const waiting = [joins.durable(), joins.durable(), joins.durable()]
  joins.joined() // after the flush began: not covered by it
  const later = joins.durable()
  open()
  await Promise.all([...waiting, later])
  assert.equal(f.runs(), 2)
})

test('an append after the joins covers them: no flush; joins after it still need one', async () => {
  const f = countingFlush()
  const joins = durableJoins(f.flush)
  joins.joined()
  assert.equal(await joins.covering(async () => 'appended'), 'appended')
  await joins.durable()
  assert.equal(f.runs(), 0)
  joins.joined()
  await joins.durable()
  assert.equal(f.runs(), 1)
})

test('a failed flush fails its waiters and covers nothing; durability off never flushes', async () => {
  let fail = true
  let runs = 0
  const joins = durableJoins(async () => { runs++; if (fail) throw new Error('disk gone') })
  await assert.rejects(joins.durable(), /disk gone/)
  fail = false
  await joins.durable()
  assert.equal(runs, 2)
  const off = durableJoins(async () => { throw new Error('never called') }, false)
  off.joined()
  await off.durable()
})
