/**
 * The daemon's event log (src/daemon/events.ts): ids, replay after an id, reset when events were
 * dropped or the id is from another run, subscriptions that replay, follow, fall behind and end.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createEventLog, type DaemonEvent, type EventsReset } from '../../src/daemon/events.ts'

const owners = (items: Array<DaemonEvent | EventsReset>): unknown[] => items.map(e => 'reset' in e ? 'reset' : (e.data as { owner: string }).owner)

test('ids grow by one, since(id) gives what followed, a reset for an id no longer kept or not given yet', () => {
  let clock = 1000
  const log = createEventLog({ kept: 3, now: () => clock++ })
  assert.equal(log.last(), 0)
  assert.deepEqual(log.since(0), [])
  for (const owner of ['a', 'b', 'c', 'd', 'e']) log.emit('hosted-mail', { owner })
  assert.equal(log.last(), 5)
  const kept = log.since(2)
  assert.ok(Array.isArray(kept))
  assert.deepEqual(kept.map(e => [e.id, e.time, e.type, e.data]), [[3, 1002, 'hosted-mail', { owner: 'c' }], [4, 1003, 'hosted-mail', { owner: 'd' }], [5, 1004, 'hosted-mail', { owner: 'e' }]])
  assert.deepEqual(log.since(5), [])
  assert.deepEqual(log.since(1), { reset: true, last: 5 }, 'event 2 is no longer kept')
  assert.deepEqual(log.since(0), { reset: true, last: 5 })
  assert.deepEqual(log.since(9), { reset: true, last: 5 }, 'an id from an earlier run of the daemon')
  assert.deepEqual(log.since(-1), { reset: true, last: 5 })
  assert.deepEqual(log.since(2.5), { reset: true, last: 5 })
})

test('a subscription replays what followed its id, then follows, and ends when the log closes', async () => {
  const log = createEventLog({ kept: 10 })
  log.emit('hosted-mail', { owner: 'a' })
  log.emit('hosted-mail', { owner: 'b' })
  const seen: Array<DaemonEvent | EventsReset> = []
  const reading = (async () => { for await (const e of log.subscribe({ since: 1 })) seen.push(e) })()
  const fromNow: Array<DaemonEvent | EventsReset> = []
  const live = (async () => { for await (const e of log.subscribe()) fromNow.push(e) })()
  log.emit('hosted-mail', { owner: 'c' })
  await Promise.resolve()
  log.emit('hosted-mail', { owner: 'd' })
  log.close()
  await Promise.all([reading, live])
  assert.deepEqual(owners(seen), ['b', 'c', 'd'])
  assert.deepEqual(owners(fromNow), ['c', 'd'])
})

test('a reader too far behind gets a reset, then goes on; an id too old starts with a reset', async () => {
  const log = createEventLog({ kept: 2 })
  const slow = log.subscribe({ since: 0 })
  for (const owner of ['a', 'b', 'c', 'd']) log.emit('hosted-mail', { owner })
  log.emit('hosted-mail', { owner: 'e' })
  const first = await slow.next()
  assert.deepEqual(first.value, { reset: true, last: 5 })
  log.emit('hosted-mail', { owner: 'f' })
  assert.deepEqual(owners([(await slow.next()).value as DaemonEvent]), ['f'])
  const late = log.subscribe({ since: 1 })
  assert.deepEqual((await late.next()).value, { reset: true, last: 6 })
  log.close()
  assert.equal((await late.next()).done, true)
  assert.equal((await slow.next()).done, true)
})

test('aborting a subscription ends it at once, even while it waits; other readers go on', async () => {
  const log = createEventLog()
  const controller = new AbortController()
  const waiting = log.subscribe({ signal: controller.signal })
  const other = log.subscribe()
  const pending = waiting.next()
  controller.abort()
  assert.equal((await pending).done, true)
  log.emit('stopped', {})
  assert.equal(((await other.next()).value as DaemonEvent).type, 'stopped')
  await other.return?.()
  assert.equal((await other.next()).done, true, 'return() ends a subscription')
  assert.equal((await log.subscribe({ signal: controller.signal }).next()).done, true, 'a subscription with an aborted signal gives nothing')
})
