/**
 * `ipms` on a real pseudo-terminal (util-linux `script`), for what only a terminal gets: prompts
 * with echo off, `$EDITOR`, Ctrl-C typed at the keyboard. The test writes its keyboard and waits
 * for what the screen shows (no sleeps).
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { IPMS_BIN } from '../../examples/ipms-cli.ts'
import { waitFor } from './wait.ts'

const quote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`

/** `ipms …args` on a pseudo-terminal with `env`; `type` writes to its keyboard; `done` is its exit code and screen. */
export function onTerminal (home: string, args: string[], env: Record<string, string>): { until: (seen: RegExp | string, what: string) => Promise<void>, type: (text: string) => void, done: Promise<{ code: number | null, screen: string }> } {
  const command = [IPMS_BIN, '--home', home, ...args].map(quote).join(' ')
  const child = spawn('script', ['--quiet', '--flush', '--return', '--command', command, '/dev/null'], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
  let screen = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { screen += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { screen += d })
  const done = once(child, 'exit').then(([code]) => ({ code: code as number | null, screen }))
  /** Waits (30 s at most) until the terminal has shown `seen`: woken by each write to it. */
  const until = async (seen: RegExp | string, what: string): Promise<void> => {
    const shown = (): boolean => typeof seen === 'string' ? screen.includes(seen) : seen.test(screen)
    await waitFor([[child.stdout, 'data'], [child.stderr, 'data']], shown, AbortSignal.timeout(30_000)).catch((err: Error) => { throw new Error(`${what} not shown: ${JSON.stringify(screen)} (${err.message})`) })
  }
  return { until, type: text => { child.stdin.write(text) }, done }
}

