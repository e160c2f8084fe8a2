/**
 * The conformance runner (docs/PROTOCOL.md §7.1) as a second implementation meets it: a child
 * process started by `npm run conformance`'s script, talking to an adapter command.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const runner = new URL('./run.ts', import.meta.url).pathname
const vectors = new URL('../vectors', import.meta.url).pathname
const node = `"${process.execPath}" --disable-warning=ExperimentalWarning`

async function conformance (...args: string[]): Promise<{ code: number, stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, ['--disable-warning=ExperimentalWarning', runner, ...args], { timeout: 120_000 })
    return { code: 0, stdout }
  } catch (err) {
    const e = err as { code: number, stdout: string }
    return { code: e.code, stdout: e.stdout }
  }
}

test('src/ passes every vector of test/vectors through its adapter, and so does the reference', async () => {
  const own = await conformance(vectors)
  assert.equal(own.code, 0, own.stdout)
  assert.match(own.stdout, /(\d+) of \1 vectors pass \(0 failed, 0 unsupported\)/)
  const reference = await conformance(vectors, '--adapter', `${node} "${new URL('./adapter.ts', import.meta.url).pathname}" --reference`)
  assert.equal(reference.code, 0, reference.stdout)
})

test('an implementation that answers wrongly or lacks operations fails, naming the vectors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ipms-conformance-'))
  try {
    // Knows only peer-id, and gets it wrong.
    const adapter = join(dir, 'adapter.mjs')
    await writeFile(adapter, `import { createInterface } from 'node:readline'
for await (const line of createInterface({ input: process.stdin })) {
  const { id, op } = JSON.parse(line)
  console.log(JSON.stringify(op === 'peer-id' ? { id, output: { peerId: '12D3KooWwrong' } } : { id, unsupported: true }))
}
`)
    const wrong = await conformance(vectors, '--adapter', `${node} "${adapter}"`)
    assert.equal(wrong.code, 1)
    assert.match(wrong.stdout, /FAIL protocol-v1\.json peer-id "address of the owner seed": publicKey/)
    assert.match(wrong.stdout, /read-sync-frame +0 passed, \d+ unsupported/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
