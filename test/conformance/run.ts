/**
 * The conformance runner (docs/PROTOCOL.md §7.1): checks an implementation's answers against the
 * vectors of a directory. The implementation plugs in as a command (its adapter) that reads
 * NDJSON requests on stdin and writes one answer line per request; the runner starts it once,
 * sends every vector, and compares each answer with the vector's `output` (every field) or
 * `error` (the code).
 *
 *   npm run conformance -- test/vectors                          # this implementation (src/)
 *   npm run conformance -- test/vectors --adapter "./my-ipms conformance"
 *
 * Exit 0 when every vector passes; 1 when one fails, or is unsupported unless
 * --allow-unsupported is given (a partial implementation lists what it lacks).
 */
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { mismatch, type Answer, type Vector } from './json.ts'

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { adapter: { type: 'string' }, 'allow-unsupported': { type: 'boolean' }, verbose: { type: 'boolean' } }
})
const dir = positionals[0]
if (dir === undefined) {
  process.stderr.write('usage: npm run conformance -- <vectors dir> [--adapter "<command>"] [--allow-unsupported] [--verbose]\n')
  process.exit(64)
}
const ownAdapter = `"${process.execPath}" --disable-warning=ExperimentalWarning "${new URL('./adapter.ts', import.meta.url).pathname}"`
const command = values.adapter ?? ownAdapter

/** Every vector of the directory's JSON files that has the conformance form (an `op` per vector). */
const vectors: Array<Vector & { file: string }> = []
for (const file of readdirSync(dir).filter(f => f.endsWith('.json')).sort()) {
  const parsed = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { vectors?: unknown }
  if (!Array.isArray(parsed.vectors)) continue
  for (const v of parsed.vectors as Vector[]) if (typeof v?.op === 'string') vectors.push({ ...v, file })
}
if (vectors.length === 0) {
  process.stderr.write(`no conformance vectors in ${dir} (JSON files with a "vectors" list of { name, op, input, output | error })\n`)
  process.exit(66)
}

const child = spawn(command, { shell: true, stdio: ['pipe', 'pipe', 'inherit'] })
const answers = new Map<number, Answer | { unsupported: true }>()
const lines = createInterface({ input: child.stdout, crlfDelay: Infinity })
const done = new Promise<void>((resolve, reject) => {
  lines.on('line', line => {
    try {
      const { id, ...rest } = JSON.parse(line) as { id: number } & (Answer | { unsupported: true })
      answers.set(id, rest)
    } catch { process.stderr.write(`the adapter wrote a line that is not JSON: ${line.slice(0, 200)}\n`) }
    if (answers.size === vectors.length) resolve()
  })
  child.on('exit', code => { answers.size === vectors.length ? resolve() : reject(new Error(`the adapter exited (${String(code)}) after ${answers.size} of ${vectors.length} answers`)) })
})
vectors.forEach((v, id) => child.stdin.write(JSON.stringify({ id, op: v.op, input: v.input }) + '\n'))
child.stdin.end()
try {
  await done
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`)
  process.exit(1)
}

let failed = 0
let unsupported = 0
const ops = new Map<string, { pass: number, fail: number, unsupported: number }>()
vectors.forEach((v, id) => {
  const got = answers.get(id)
  const tally = ops.get(v.op) ?? { pass: 0, fail: 0, unsupported: 0 }
  ops.set(v.op, tally)
  if (got === undefined || 'unsupported' in got) { unsupported++; tally.unsupported++; return }
  const problem = mismatch(v, got)
  if (problem === undefined) { tally.pass++; if (values.verbose === true) process.stdout.write(`ok   ${v.file} ${v.op} "${v.name}"\n`); return }
  failed++; tally.fail++
  process.stdout.write(`FAIL ${v.file} ${v.op} "${v.name}": ${problem}\n`)
})
for (const [op, t] of ops) process.stdout.write(`${op.padEnd(22)} ${t.pass} passed${t.fail > 0 ? `, ${t.fail} FAILED` : ''}${t.unsupported > 0 ? `, ${t.unsupported} unsupported` : ''}\n`)
process.stdout.write(`${vectors.length - failed - unsupported} of ${vectors.length} vectors pass (${failed} failed, ${unsupported} unsupported)\n`)
process.exit(failed > 0 || (unsupported > 0 && values['allow-unsupported'] !== true) ? 1 : 0)
