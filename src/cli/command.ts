/**
 * The shape of one CLI command: yargs' command string and options, examples for `--help`, and a
 * handler that gets the parsed arguments and the CLI context. Commands are plain objects.
 */
import type { Argv } from 'yargs'
import { InvalidArgumentError } from '../errors.ts'
import type { CliContext } from './context.ts'

export interface CliCommand {
  /** yargs command string, e.g. `send <to> [file]`. */
  command: string
  /** Other names of the command (`watch` for `events`). */
  aliases?: string[]
  /** One line for --help (top-level commands have theirs in commands/index.ts). */
  describe?: string
  options?: (yargs: Argv) => Argv
  /** `[command line, what it does]` shown by --help. */
  examples?: Array<[string, string]>
  /** Sub-commands instead of a handler (`hosts grant`, `hosts list` …). */
  subcommands?: CliCommand[]
  run?: (args: Record<string, unknown>, context: CliContext) => Promise<void>
}

/** Short, readable forms used in listings. */
export { shortPeer } from '../identity/short-peer.ts'
export { count } from '../util/count.ts'
export const isoTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
/** A size for people: B, KiB or MiB. */
export const humanBytes = (bytes: number): string => bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`

/**
 * A mail's date for people, in the local time zone (TZ) with its offset, one token (ISO 8601):
 * `2026-11-30T09:45:12+01:00`. One style for `list` and `read`.
 */
export function localTime (ms: number): string {
  const d = new Date(ms)
  const pad = (n: number): string => String(Math.trunc(Math.abs(n))).padStart(2, '0')
  const offset = -d.getTimezoneOffset()
  const zone = `${offset < 0 ? '-' : '+'}${pad(offset / 60)}:${pad(offset % 60)}`
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${zone}`
}

/** `90d`, `12h`, `30m`, `45s` or a number of seconds, to ms. */
export function parseDuration (text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(d|h|m|s)?$/.exec(text.trim())
  if (match === null) return undefined
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[(match[2] ?? 's') as 'd' | 'h' | 'm' | 's']
  const ms = Number(match[1]) * unit
  return ms > 0 ? ms : undefined
}

/** `--timeout`, shared by `send` and `outbox retry`: every delivery attempt is bounded by it. */
export const TIMEOUT_OPTION = { type: 'string', default: '30s', describe: 'How long to wait for each host (e.g. 30s, 2m)' } as const

/** The `--timeout` given, in ms; InvalidArgumentError if it is not a duration. */
export function timeoutOf (args: Record<string, unknown>): number {
  const timeoutMs = parseDuration(String(args.timeout))
  if (timeoutMs === undefined) throw new InvalidArgumentError(`--timeout ${String(args.timeout)} is not a duration (examples: 30s, 2m)`)
  return timeoutMs
}
