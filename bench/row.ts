/**
 * One row of bench/RESULTS.md: a measure of IPMS beside its baseline, measured in the same run.
 * `ratio` is written so that higher is better for IPMS (a speed-up, or ipms/baseline throughput).
 */
export interface Row {
  /** What is measured, with its unit and conditions. */
  measure: string
  /** IPMS's figure, with unit. */
  ipms: string
  /** The baseline's figure, with unit and what the baseline is. */
  baseline: string
  /** ipms ÷ baseline (throughputs) or baseline ÷ ipms (times), e.g. "0.71 ×". */
  ratio: string
  /** The target, e.g. "≥ 0.5 ×". */
  target: string
  /** Whether the target is met; null for a row shown for context, without a target. */
  met: boolean | null
}

/** Median of a non-empty list of numbers. */
export function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** A number with a thousands separator and `digits` decimals. */
export function formatNumber (value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** Run `fn` repeatedly for about `ms` milliseconds (after `warmup` calls); returns calls per second. */
export async function ratePerSecond (fn: () => unknown, ms: number, warmup = 50): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn()
  let calls = 0
  const start = performance.now()
  let elapsed = 0
  while (elapsed < ms) {
    for (let i = 0; i < 10; i++) await fn()
    calls += 10
    elapsed = performance.now() - start
  }
  return calls / (elapsed / 1000)
}

/**
 * The entry point of a bench section run as a script: rows as objects for a person, or with
 * `--json` as one JSON line on stdout for bench/run.ts, which runs each section in its own process.
 */
export async function printRows (bench: () => Promise<Row[]>): Promise<void> {
  const rows = await bench()
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(rows)}\n`)
  else for (const row of rows) console.log(row)
}
