/**
 * The home lock's bounded wait (src/node/home-lock.ts): a caller may wait for a live holder to let
 * go (ipms sync behind another ipms sync), fails at once for holders it does not wait for (the
 * daemon), fails after its deadline, and stops on its signal. The holder is a real other process.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { acquireHomeLock, HOME_LOCK_FILE_NAME } from '../../src/node/home-lock.ts'

let root: string
let n = 0
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-home-lock-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

/** A live process (not this one) named as the holder of a new home's lock. */
async function heldHome (): Promise<{ home: string, holder: ChildProcess, stop: () => Promise<void> }> {
  const home = join(root, `home-${++n}`)
  await mkdir(home)
  const holder = spawn(process.execPath, ['-e', 'process.stdin.resume()'], { stdio: ['pipe', 'ignore', 'ignore'] })
  await once(holder, 'spawn')
  await writeFile(join(home, HOME_LOCK_FILE_NAME), JSON.stringify({ pid: holder.pid, host: hostname(), token: 'other' }) + '\n')
  const exited = once(holder, 'exit')
  return { home, holder, stop: async () => { if (holder.exitCode === null) { holder.kill(); await exited } } }
}

test('waits for a live holder and takes the lock once it is released; onWait is told once, with the pid', async () => {
  const { home, holder, stop } = await heldHome()
  try {
    const told: number[] = []
    const lock = await acquireHomeLock(home, {
      timeoutMs: 60_000,
      onWait: ({ pid }) => { told.push(pid); void unlink(join(home, HOME_LOCK_FILE_NAME)) } // the holder lets go
    })
    assert.deepEqual(told, [holder.pid])
    await lock.release()
  } finally { await stop() }
})

test('a holder that dies while waited for: its lock is stale and taken over', async () => {
  const { home, stop } = await heldHome()
  const lock = await acquireHomeLock(home, { timeoutMs: 60_000, onWait: () => { void stop() } })
  await lock.release()
})

test('no wait for a holder that waitFor refuses (the daemon), none without options, and a bounded wait ends in HomeInUseError', async () => {
  const { home, stop } = await heldHome()
  try {
    let asked = 0
    const started = Date.now()
    await assert.rejects(acquireHomeLock(home, { timeoutMs: 60_000, waitFor: () => { asked++; return false }, onWait: () => { assert.fail('not waited for') } }), { code: 'ERR_HOME_IN_USE' })
    assert.equal(asked, 1)
    await assert.rejects(acquireHomeLock(home), { code: 'ERR_HOME_IN_USE' })
    assert.ok(Date.now() - started < 30_000, 'both failed without waiting')
    await assert.rejects(acquireHomeLock(home, { timeoutMs: 300 }), (err: Error & { code?: string }) => err.code === 'ERR_HOME_IN_USE' && /still after waiting/.test(err.message))
  } finally { await stop() }
})

test('the wait stops on its signal with an AbortError', async () => {
  const { home, stop } = await heldHome()
  try {
    const controller = new AbortController()
    await assert.rejects(acquireHomeLock(home, { timeoutMs: 60_000, signal: controller.signal, onWait: () => { controller.abort() } }), { code: 'ABORT_ERR' })
  } finally { await stop() }
})
