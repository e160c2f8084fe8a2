/**
 * `npm run bench`: every benchmark, each beside its baseline measured in the same run, written to
 * bench/RESULTS.md as one table (a row per measure) with the machine and the date.
 * Benchmarks are not tests: nothing here fails the build; a missed target shows as "no".
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import { benchEnvelope } from './envelope.ts'
import { benchInbox } from './inbox.ts'
import { benchPow } from './pow.ts'
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
const sections: Array<[string, () => Promise<Row[]>]> = [['proof-of-work', benchPow], ['envelope', benchEnvelope], ['inbox', benchInbox]]
const rows: Row[] = []
for (const [name, run] of sections) {
  console.error(`bench: ${name} …`)
  for (const row of await run()) {
    rows.push(row)
    console.error(`  ${row.measure}: ${row.ipms} vs ${row.baseline} → ${row.ratio} (${row.target}: ${met(row.met)})`)
  }
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
