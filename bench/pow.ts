/**
 * PoW solver benchmarks (docs/PROTOCOL.md, proof-of-work), against `openssl speed` in the same run.
 *
 * - hash rate: attempts per second of `solvePow` on all cores over ~3 s of a search that never
 *   ends (40 bits, aborted), per core, against OpenSSL's single-core SHA-256 rate on 64-byte
 *   inputs (`openssl speed -evp sha256 -bytes 64`, bytes/s ÷ 64). Target ≥ 0.6 × per core.
 * - the same for one core in the calling thread (no worker threads), for context;
 * - median solve time at 20..26 bits over random challenges, to pick the default difficulty
 *   (about one second median), beside the median the measured rate predicts (ln 2 × 2^bits / rate).
 * Watch for: other load on the machine lowers every figure; solve times are exponentially
 * distributed, so medians of few solves (high bits) are rough.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { DEFAULT_POW_BITS } from '../src/constants.ts'
import { closePowPool, solvePow, verifyPow, type PowProgress } from '../src/crypto/pow/index.ts'
import { CONTROL_SLOTS, powMidstate, scanNonces } from '../src/crypto/pow/sha256-block.ts'
import { printRows, formatNumber, median, type Row } from './row.ts'

/** Solves per difficulty: enough for a median at low bits, fewer where each takes seconds. */
const SOLVES: Record<number, number> = { 20: 15, 21: 15, 22: 15, 23: 15, 24: 25, 25: 7, 26: 5 }
const TARGET_PER_CORE = 0.6

const randomChallenge = (): Uint8Array => new Uint8Array(randomBytes(32))
const mhs = (rate: number): string => `${formatNumber(rate / 1e6, 2)} M hashes/s`

/** OpenSSL's single-core SHA-256 rate on 64-byte inputs, hashes/s; null if openssl is missing. */
async function opensslRate (seconds: number): Promise<number | null> {
  try {
    const { stdout } = await promisify(execFile)('openssl', ['speed', '-evp', 'sha256', '-bytes', '64', '-seconds', String(seconds)])
    // Last line: "sha256   396806.93k" (thousands of bytes per second).
    const match = /^sha256\s+([\d.]+)k\s*$/m.exec(stdout)
    return match == null ? null : Number(match[1]) * 1000 / 64
  } catch {
    return null
  }
}

/** Attempts/s of solvePow on `threads` workers, measured between progress reports after warm-up. */
async function solverRate (threads: number, ms: number, warmupMs = 500): Promise<number> {
  const controller = new AbortController()
  let first: PowProgress | undefined
  let last: PowProgress | undefined
  const solving = solvePow(randomChallenge(), 40, {
    threads,
    signal: controller.signal,
    onProgress: (progress) => {
      if (progress.elapsedMs < warmupMs) return
      first ??= progress
      last = progress
      if (last.elapsedMs - first.elapsedMs >= ms) controller.abort()
    }
  })
  await solving.catch((err: Error) => { if (err.name !== 'AbortError') throw err })
  if (first === undefined || last === undefined || last === first) throw new Error('no progress was reported')
  return (last.attempts - first.attempts) / ((last.elapsedMs - first.elapsedMs) / 1000)
}

/** Attempts/s of the fast path alone in this thread, after a warm-up. */
function inThreadRate (attempts: number): number {
  const ctx = powMidstate(randomChallenge())
  const control = new Int32Array(CONTROL_SLOTS)
  scanNonces(ctx, 1, 0, 1 << 22, -1, control) // warm-up: lets V8 optimise the hot loop
  const start = performance.now()
  scanNonces(ctx, 2, 0, attempts, -1, control)
  return attempts / ((performance.now() - start) / 1000)
}

async function solveMs (bits: number): Promise<number> {
  const challenge = randomChallenge()
  const start = performance.now()
  const nonce = await solvePow(challenge, bits)
  const ms = performance.now() - start
  if (!verifyPow(challenge, bits, nonce)) throw new Error(`solvePow returned a bad ${bits}-bit stamp`)
  return ms
}

export async function benchPow (): Promise<Row[]> {
  const rows: Row[] = []
  const threads = availableParallelism()
  const baseline = await opensslRate(3)
  const baselineText = baseline == null ? 'openssl not available' : `${mhs(baseline)} per core (openssl speed -evp sha256 -bytes 64, 1 core)`
  const perCore = (rate: number): Pick<Row, 'ratio' | 'met'> => baseline == null
    ? { ratio: 'n/a', met: null }
    : { ratio: `${formatNumber(rate / baseline, 2)} ×`, met: rate / baseline >= TARGET_PER_CORE }

  // Cold start: a new pool pays worker start-up and JIT warm-up once.
  await closePowPool()
  const coldMs = await solveMs(16)
  rows.push({
    measure: `PoW first solve with a cold worker pool, 16 bits (${threads} threads)`,
    ipms: `${formatNumber(coldMs)} ms`,
    baseline: `${formatNumber(await solveMs(16), 0)} ms with the pool warm`,
    ratio: 'n/a',
    target: 'context',
    met: null
  })

  const rate = await solverRate(threads, 3000)
  rows.push({
    measure: `PoW solver hash rate, all cores (${threads} worker threads, 3 s), per core`,
    ipms: `${mhs(rate / threads)} per core (${mhs(rate)} total)`,
    baseline: baselineText,
    ...perCore(rate / threads),
    target: `≥ ${TARGET_PER_CORE} × per core`
  })
  const single = inThreadRate(1 << 25)
  rows.push({
    measure: 'PoW fast SHA-256 path, one core in the calling thread',
    ipms: mhs(single),
    baseline: baselineText,
    ...perCore(single),
    target: `≥ ${TARGET_PER_CORE} × per core`
  })

  for (const [bitsText, count] of Object.entries(SOLVES)) {
    const bits = Number(bitsText)
    const times: number[] = []
    for (let i = 0; i < count; i++) times.push(await solveMs(bits))
    const ms = median(times)
    const expected = Math.LN2 * 2 ** bits / rate * 1000
    const isDefault = bits === DEFAULT_POW_BITS
    rows.push({
      measure: `PoW solve time, ${bits} bits${isDefault ? ' (the default difficulty)' : ''}, median of ${count} random challenges (${threads} threads)`,
      ipms: `${formatNumber(ms)} ms`,
      baseline: `${formatNumber(expected)} ms predicted (ln 2 × 2^${bits} at the measured rate)`,
      ratio: `${formatNumber(expected / ms, 2)} ×`,
      target: isDefault ? 'median ≈ 1 s (0.5–2 s)' : 'context',
      met: isDefault ? ms >= 500 && ms <= 2000 : null
    })
  }
  await closePowPool()
  return rows
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await printRows(benchPow)
