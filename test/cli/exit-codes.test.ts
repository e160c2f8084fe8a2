/**
 * The README's "Exit codes" table is the reference users read: it must say exactly what
 * src/cli/exit-codes.ts does (every exit code, and which error codes give it), so the two cannot
 * drift. Pure: no process is started.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { ERROR_CODES, isErrorCode } from '../../src/errors.ts'
import { EXIT, EXIT_BY_CODE, exitCodeFor } from '../../src/cli/exit-codes.ts'

/** The README table's rows: exit code → the error codes listed for it. */
async function readmeTable (): Promise<Map<number, string[]>> {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
  const section = readme.split('\n### Exit codes\n')[1]?.split('\n#')[0]
  assert.ok(section !== undefined, 'the README has an "Exit codes" section')
  const rows = new Map<number, string[]>()
  for (const line of section.split('\n')) {
    const cells = line.split('|').map(cell => cell.trim())
    if (!/^\d+$/.test(cells[1] ?? '')) continue
    const exit = Number(cells[1])
    assert.ok(!rows.has(exit), `exit ${exit} has one row`)
    rows.set(exit, [...(cells[3] ?? '').matchAll(/`([A-Z_]+)`/g)].map(m => m[1]!))
  }
  return rows
}

test('the README\'s exit-code table lists every exit code and maps every error code exactly as exit-codes.ts', async () => {
  const rows = await readmeTable()
  assert.deepEqual([...rows.keys()].sort((a, b) => a - b), Object.values(EXIT).sort((a, b) => a - b), 'the same exit codes')
  const fromReadme: Record<string, number> = {}
  for (const [exit, codes] of rows) {
    for (const code of codes) {
      assert.ok(isErrorCode(code), `the README lists ${code}, which is not an error code`)
      assert.equal(fromReadme[code], undefined, `${code} is listed twice`)
      fromReadme[code] = exit
    }
  }
  assert.deepEqual(fromReadme, { ...EXIT_BY_CODE })
})

test('exit codes stay out of the range Node uses for its own failures (1–14); anything that is not an error code is a bug (70)', () => {
  for (const exit of Object.values(EXIT)) assert.ok(exit === 0 || exit >= 64, `exit ${exit}`)
  assert.equal(Object.keys(EXIT_BY_CODE).length, ERROR_CODES.length)
  for (const code of ['ENOENT', 'ERR_NO_SUCH_CODE', 'toString', '__proto__', undefined, 42]) assert.equal(exitCodeFor(code), EXIT.FAILURE)
})
