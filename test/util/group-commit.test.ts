/** Group commit: what arrives during a commit is committed together next; outcomes go to their own items. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { groupCommit } from '../../src/util/group-commit.ts'

/** A commit function that records its groups and finishes each one when told to. */
function recorder () {
  const groups: number[][] = []
  const release: Array<() => void> = []
  const commit = async (items: number[]): Promise<Array<number | Error>> => {
    groups.push(items)
    await new Promise<void>(resolve => release.push(resolve))
    return items.map(i => i < 0 ? new Error(`refused ${i}`) : i * 10)
  }
  return { groups, release, commit }
}

test('a lone item commits at once; items arriving meanwhile commit together, in order', async () => {
  const r = recorder()
  const g = groupCommit(r.commit)
  const first = g.submit(1)
  assert.deepEqual(r.groups, [[1]], 'the first item did not wait')
  const rest = [2, 3, 4].map(async i => await g.submit(i))
  assert.deepEqual(r.groups, [[1]])
  r.release.shift()!()
  assert.equal(await first, 10)
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(r.groups, [[1], [2, 3, 4]])
  r.release.shift()!()
  assert.deepEqual(await Promise.all(rest), [20, 30, 40])
  await g.idle()
})

test('an Error outcome rejects its own item only; a throwing commit rejects its group and the next group runs', async () => {
  let calls = 0
  const g = groupCommit<number, number>(async items => {
    calls++
    if (calls === 2) throw new Error('disk full')
    return items.map(i => i < 0 ? new Error(`refused ${i}`) : i)
  }, { maxGroup: 2 })
  const outcomes = await Promise.allSettled([g.submit(1), g.submit(-2), g.submit(3), g.submit(4), g.submit(5)])
  // Groups: [1] at once, then [-2, 3] (throws), then [4, 5].
  assert.deepEqual(outcomes.map(o => o.status === 'fulfilled' ? o.value : (o.reason as Error).message), [1, 'disk full', 'disk full', 4, 5])
  assert.equal(calls, 3)
  const mixed = await Promise.allSettled([g.submit(6), g.submit(-7), g.submit(8)])
  assert.deepEqual(mixed.map(o => o.status === 'fulfilled' ? o.value : (o.reason as Error).message), [6, 'refused -7', 8])
  await g.idle()
})
