/**
 * A host's per-owner event feed (src/host-events/feed.ts): ids per owner within a run, replay after
 * an id exactly once, a reset for an id of another run, from the future, or older than what is kept,
 * a reader too far behind, and owners whose events were forgotten.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHostFeed, type HostFeedItem } from '../../src/host-events/feed.ts'

const mail = (n: number): { entry: string, env: string, size: number, arrived: number } => ({ entry: `e${n}`, env: `b${n}`, size: n, arrived: n })
const ids = (items: HostFeedItem[]): string[] => items.map(i => 'reset' in i ? `reset ${i.last}` : i.id)

async function take (iterator: AsyncIterableIterator<HostFeedItem>, n: number): Promise<HostFeedItem[]> {
  const items: HostFeedItem[] = []
  while (items.length < n) items.push((await iterator.next()).value as HostFeedItem)
  return items
}

test('ids are per owner; a resume replays exactly what followed, or resets', async () => {
  const feed = createHostFeed({ run: 'r', kept: 3 })
  feed.emit('a', 'mail', mail(1))
  feed.emit('b', 'mail', mail(2))
  feed.emit('a', 'mail', mail(3))
  assert.equal(feed.last('a'), 'r-2')
  assert.equal(feed.last('b'), 'r-1')
  assert.equal(feed.last('c'), 'r-0')
  const signal = AbortSignal.timeout(10_000)
  assert.deepEqual(ids(await take(feed.subscribe('a', { since: 'r-0', signal }), 2)), ['r-1', 'r-2'])
  assert.deepEqual(ids(await take(feed.subscribe('a', { since: 'r-1', signal }), 1)), ['r-2'])
  assert.deepEqual(ids(await take(feed.subscribe('a', { since: 'q-1', signal }), 1)), ['reset r-2'], 'another run')
  assert.deepEqual(ids(await take(feed.subscribe('a', { since: 'r-9', signal }), 1)), ['reset r-2'], 'not given yet')
  assert.deepEqual(ids(await take(feed.subscribe('a', { since: '1', signal }), 1)), ['reset r-2'], 'not an id')
  for (let n = 4; n < 8; n++) feed.emit('a', 'mail', mail(n))
  assert.deepEqual(ids(await take(feed.subscribe('a', { since: 'r-2', signal }), 1)), ['reset r-6'], 'r-3 is no longer kept')
  assert.deepEqual(ids(await take(feed.subscribe('a', { since: 'r-3', signal }), 3)), ['r-4', 'r-5', 'r-6'])
})

test('a live reader gets each event once; one that falls more than the kept events behind gets a reset', async () => {
  const feed = createHostFeed({ run: 'r', kept: 2 })
  const controller = new AbortController()
  const live = feed.subscribe('a', { signal: controller.signal })
  feed.emit('a', 'mail', mail(1))
  feed.emit('b', 'mail', mail(2))
  feed.emit('a', 'pruned', { envelopes: ['b1'], reason: 'read' })
  assert.deepEqual(ids(await take(live, 2)), ['r-1', 'r-2'])
  for (let n = 0; n < 5; n++) feed.emit('a', 'mail', mail(n))
  assert.deepEqual(ids(await take(live, 1)), ['reset r-7'])
  feed.emit('a', 'mail', mail(9))
  assert.deepEqual(ids(await take(live, 1)), ['r-8'])
  assert.equal(feed.subscribers(), 1)
  controller.abort()
  assert.equal((await live.next()).done, true)
  assert.equal(feed.subscribers(), 0)
})

test('owners past the kept number forget their events but never reuse an id', async () => {
  const feed = createHostFeed({ run: 'r', kept: 4, owners: 2 })
  feed.emit('a', 'mail', mail(1))
  feed.emit('b', 'mail', mail(2))
  feed.emit('c', 'mail', mail(3)) // a is forgotten
  const signal = AbortSignal.timeout(10_000)
  assert.deepEqual(ids(await take(feed.subscribe('a', { since: 'r-0', signal }), 1)), ['reset r-1'])
  assert.deepEqual(ids(await take(feed.subscribe('a', { since: 'r-1', signal }), 0)), [])
  assert.equal(feed.emit('a', 'mail', mail(4)).id, 'r-2')
  feed.close()
})
