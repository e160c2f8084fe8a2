/**
 * keepAlive: work that waits only on an unref'd timer, under a top-level await, ends with its own
 * result while the handle is held; without it Node gives up and exits 13 (the exit code that once
 * read as "config damaged").
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const HELPER = fileURLToPath(new URL('../../src/util/keep-alive.ts', import.meta.url))

/** Run a module that awaits 200 ms of an unref'd timer at top level; its exit code and stdout. */
async function run (held: boolean): Promise<{ code: number | null, stdout: string }> {
  const source = `
    import { keepAlive } from ${JSON.stringify(HELPER)}
    const release = ${held ? 'keepAlive()' : '() => {}'}
    await new Promise(resolve => { setTimeout(resolve, 200).unref() })
    release()
    process.stdout.write('done')`
  return await new Promise(resolve => {
    const child = execFile(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '--eval', source], { timeout: 60_000 }, (_err, stdout) => {
      resolve({ code: child.exitCode, stdout })
    })
  })
}

test('an await on an unref\'d timer: exit 13 mid-work without a ref\'d handle; with keepAlive the work ends and the process exits 0', async () => {
  const [bare, held] = await Promise.all([run(false), run(true)])
  assert.deepEqual(bare, { code: 13, stdout: '' }, 'Node gives up on the unsettled await')
  assert.deepEqual(held, { code: 0, stdout: 'done' })
})
