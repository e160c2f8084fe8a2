import { test } from 'node:test'
import assert from 'node:assert/strict'
import { concurrencyLimit } from '../../src/util/concurrency-limit.ts'

test('at most N run at once, the others in turn; a wait is cancelled by its signal', async () => {
  const limit = concurrencyLimit(2)
  let running = 0
  let most = 0
  const gates: Array<() => void> = []
  const task = (): Promise<number> => limit.run(async () => {
    running++
    most = Math.max(most, running)
    await new Promise<void>(resolve => gates.push(resolve))
    running--
    return running
  })
  const tasks = [task(), task(), task(), task()]
  const controller = new AbortController()
  const cancelled = limit.run(async () => 'never', { signal: controller.signal })
  controller.abort()
  await assert.rejects(cancelled, { code: 'ABORT_ERR' })
  while (gates.length > 0 || running > 0) {
    await new Promise(resolve => setImmediate(resolve))
    gates.shift()?.()
  }
  await Promise.all(tasks)
  assert.equal(most, 2)
})
