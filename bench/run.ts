/**
 * `npm run bench`: every benchmark, each beside its baseline measured in the same run, written to
 * bench/RESULTS.md as one table (a row per measure) with the machine and the date.
 * Benchmarks are not tests: nothing here fails the build; a missed target shows as "no".
 * Each section (bench/pow.ts, envelope.ts, inbox.ts, delivery.ts, discovery.ts, abuse.ts, api.ts, web.ts, hosting.ts, memory.ts, host-events.ts) runs in a process of its own.
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import type { Row } from './row.ts'

const cell = (text: string): string => text.replaceAll('|', '\\|')
const met = (value: boolean | null): string => value === null ? '—' : value ? 'yes' : '**no**'

function machine (): string {
  const cpus = os.cpus()
  let openssl = 'openssl: not found'
  try { openssl = execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim() } catch {}
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
    `${os.type()} ${os.release()}, Node ${process.version} (OpenSSL ${process.versions.openssl}), ${openssl}`
}

const started = new Date()
// Each section runs in a process of its own, so that one's heap, workers and JIT state do not
// weigh on the next one's figures.
const ALL_SECTIONS = ['pow', 'envelope', 'inbox', 'delivery', 'discovery', 'abuse', 'api', 'web', 'hosting', 'memory', 'host-events']
// `npm run bench -- api inbox` runs those sections only and prints their rows: RESULTS.md is
// written by a whole run alone, so that its table is always one run's.
const chosen = process.argv.slice(2)
const unknown = chosen.filter(name => !ALL_SECTIONS.includes(name))
if (unknown.length > 0) throw new Error(`No bench section ${unknown.join(', ')} (sections: ${ALL_SECTIONS.join(', ')})`)
const sections = chosen.length === 0 ? ALL_SECTIONS : chosen
const rows: Row[] = []
for (const name of sections) {
  console.error(`bench: ${name} …`)
  const script = new URL(`./${name}.ts`, import.meta.url).pathname
  const output = execFileSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--expose-gc', script, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 * 1024 * 1024 })
  const lines = output.trim().split('\n')
  for (const row of JSON.parse(lines[lines.length - 1]!) as Row[]) {
    rows.push(row)
    console.error(`  ${row.measure}: ${row.ipms} vs ${row.baseline} → ${row.ratio} (${row.target}: ${met(row.met)})`)
  }
}

if (chosen.length > 0) {
  console.error('bench: some sections only; bench/RESULTS.md left as it was')
  process.exit(0)
}

const table = [
  '| measure | ipms | baseline | ratio | target | met |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rows.map(r => `| ${cell(r.measure)} | ${cell(r.ipms)} | ${cell(r.baseline)} | ${cell(r.ratio)} | ${cell(r.target)} | ${met(r.met)} |`)
].join('\n')

writeFileSync(new URL('./RESULTS.md', import.meta.url), `# IPMS benchmarks

Measured by \`npm run bench\` on ${started.toISOString().slice(0, 10)} (${Math.round((Date.now() - started.getTime()) / 1000)} s).
Machine: ${machine()}.

Each baseline is measured in the same run as the figure beside it. Ratios are ipms ÷ baseline for
rates (higher is better for IPMS), and the predicted ÷ measured time for the PoW medians.
Rows marked — are context, without a target.

${table}
`)
console.error('bench: wrote bench/RESULTS.md')
