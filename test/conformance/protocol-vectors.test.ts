/**
 * Every vector of test/vectors/protocol-v1.json (docs/PROTOCOL.md §7) checked twice: through
 * src/ (ops-src.ts, the code a node runs) and through the independent reference
 * (ops-reference.ts, from the spec alone). A vector that one of them answers differently is a
 * disagreement between the code and the spec.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { answer, mismatch, OPERATIONS, type Operations, type Vector } from './json.ts'
import { srcOperations } from './ops-src.ts'
import { referenceOperations } from './ops-reference.ts'

const { vectors } = JSON.parse(readFileSync(new URL('../vectors/protocol-v1.json', import.meta.url), 'utf8')) as { vectors: Vector[] }

async function failures (ops: Operations): Promise<string[]> {
  const out: string[] = []
  for (const v of vectors) {
    const problem = mismatch(v, await answer(ops, v.op, v.input))
    if (problem !== undefined) out.push(`${v.op} "${v.name}": ${problem}`)
  }
  return out
}

test('the vectors cover every operation, with refusals for each format', () => {
  const ops = new Set(vectors.map(v => v.op))
  for (const op of OPERATIONS) assert.ok(ops.has(op), op)
  for (const op of ['inbox-address', 'check-mail-payload', 'check-prune-payload', 'check-entry', 'verify-record', 'verify-receipt', 'read-deliver-request', 'read-sync-frame']) {
    assert.ok(vectors.some(v => v.op === op && v.error !== undefined), `a refusal for ${op}`)
  }
})

test('the committed vectors are exactly what the generator makes (nobody edits the JSON by hand)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ipms-vectors-'))
  try {
    const out = join(dir, 'protocol-v1.json')
    await promisify(execFile)(process.execPath, ['--disable-warning=ExperimentalWarning', new URL('../vectors/generate-protocol.ts', import.meta.url).pathname, out], { timeout: 120_000 })
    assert.ok(readFileSync(out).equals(readFileSync(new URL('../vectors/protocol-v1.json', import.meta.url))), 'test/vectors/protocol-v1.json differs from what generate-protocol.ts makes: run it again and commit both')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('PROTOCOL §7 gives the number of vectors and refusals there are', () => {
  const spec = readFileSync(new URL('../../docs/PROTOCOL.md', import.meta.url), 'utf8')
  const refusals = vectors.filter(v => v.error !== undefined).length
  assert.ok(spec.includes(`${vectors.length}, of which ${refusals} refusals`), `docs/PROTOCOL.md §7 should say "${vectors.length}, of which ${refusals} refusals"`)
})

test('src/ answers every protocol vector as the spec says', async () => {
  assert.deepEqual(await failures(srcOperations), [])
})

test('the reference answers every protocol vector as the spec says', async () => {
  assert.deepEqual(await failures(referenceOperations), [])
})
