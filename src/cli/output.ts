/**
 * What the CLI prints, and where (README, "The command line"):
 * - a command's result goes to stdout: lines for people, or one JSON document with `--json`;
 * - notes go to stderr, and progress only to a terminal's stderr (never into pipes or logs);
 * - a failure is one line on stderr saying what to do (`--json`: a JSON document on stdout), with
 *   the stack only under `--verbose`.
 * Nothing printed here ever holds a key or a passphrase; mail text only where the user asked
 * for it (`ipms read`). Every line for people goes through `safeText` (most come from a mail or a
 * peer: a control sequence is shown, never sent to the terminal), and JSON through `jsonSafe`.
 */
import { IpmsError, type ErrorCode } from '../errors.ts'
import { EXIT, exitCodeFor } from './exit-codes.ts'
import { jsonSafe, safeText } from './safe-text.ts'

export interface OutputOptions {
  json: boolean
  quiet: boolean
  verbose: boolean
  stdout?: NodeJS.WritableStream & { isTTY?: boolean }
  stderr?: NodeJS.WritableStream & { isTTY?: boolean }
}

export interface Output {
  readonly json: boolean
  /** The command's result: `human` lines, or `{ ok: true, ...data }` with --json. */
  result: (data: Record<string, unknown>, human: string | string[]) => void
  /** A note for people (stderr; not with --quiet or --json). */
  info: (text: string) => void
  /** A progress line that replaces the previous one, on a terminal only. */
  progress: (text: string) => void
  /** One line per event (the daemon): a JSON line with --json; `time` in ms, default now. */
  event: (kind: string, data: Record<string, unknown>, human: string, time?: number) => void
  /** Report a failure; returns its exit code. */
  failure: (err: unknown) => number
}

/** JSON for CLI output: bytes as base64, bigint as text; nothing a terminal acts on left raw. */
export function toJson (value: unknown): string {
  return jsonSafe(JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64')
    if (typeof v === 'bigint') return v.toString()
    return v
  }))
}

export function createOutput (options: OutputOptions): Output {
  const stdout = options.stdout ?? process.stdout
  const stderr = options.stderr ?? process.stderr
  const showProgress = stderr.isTTY === true && !options.json && !options.quiet
  let progressShown = false
  const clearProgress = (): void => {
    if (progressShown) stderr.write('\r\x1b[K')
    progressShown = false
  }
  return {
    json: options.json,
    result: (data, human) => {
      clearProgress()
      if (options.json) stdout.write(`${toJson({ ok: true, ...data })}\n`)
      else for (const line of Array.isArray(human) ? human : [human]) stdout.write(`${safeText(line)}\n`)
    },
    info: (text) => {
      if (options.json || options.quiet) return
      clearProgress()
      stderr.write(`${safeText(text)}\n`)
    },
    progress: (text) => {
      if (!showProgress) return
      stderr.write(`\r\x1b[K${safeText(text)}`)
      progressShown = true
    },
    event: (kind, data, human, at) => {
      clearProgress()
      const time = new Date(at ?? Date.now()).toISOString()
      if (options.json) stdout.write(`${toJson({ time, event: kind, ...data })}\n`)
      else if (!options.quiet) stdout.write(`${time} ${safeText(human)}\n`)
    },
    failure: (err) => {
      clearProgress()
      // Only IPMS's own errors carry a code that means something here: anything else is a bug.
      const code: ErrorCode = err instanceof IpmsError ? err.code : 'ERR_UNEXPECTED'
      const exit = exitCodeFor(code)
      const message = err instanceof Error ? err.message : String(err)
      if (options.json) {
        stdout.write(`${toJson({ ok: false, error: { code, message, exit } })}\n`)
      } else {
        const hint = exit === EXIT.FAILURE ? ' (this is unexpected: run again with --verbose and report it)' : ''
        stderr.write(`ipms: ${safeText(message)}${hint}\n`)
      }
      if (options.verbose && err instanceof Error && err.stack !== undefined) stderr.write(`${safeText(err.stack)}\n`)
      return exit
    }
  }
}
