/**
 * Driving the real `ipms` binary (bin/ipms) from a program: one command at a time, or a daemon in
 * the background whose JSON event lines can be awaited. Used by the walk-through (`npm start`) and
 * by the CLI's end-to-end tests.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const IPMS_BIN = fileURLToPath(new URL('../bin/ipms', import.meta.url))

export interface CliRun {
  code: number
  stdout: string
  stderr: string
  /** stdout parsed, when the command ran with --json. */
  json?: any
}

/** Run `ipms --home <home> …args` to the end; `input` is its stdin. */
export async function ipms (home: string, args: string[], options: { input?: string | Uint8Array, env?: Record<string, string>, timeoutMs?: number, wrap?: string[] } = {}): Promise<CliRun> {
  const [command, ...rest] = [...options.wrap ?? [], IPMS_BIN, '--home', home, ...args]
  const child = spawn(command!, rest, { env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'], timeout: options.timeoutMs ?? 120_000 })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  child.stdin.end(options.input ?? '')
  const [code, signal] = await once(child, 'close') as [number | null, string | null]
  const run: CliRun = { code: code ?? (signal === null ? -1 : 128), stdout, stderr }
  if (args.includes('--json')) {
    try { run.json = JSON.parse(stdout) } catch { /* left undefined: the caller's assertion says so */ }
  }
  return run
}

/** `ipms --home <home> init --json …args`: a new identity; resolves with the home and its peer-id, or throws. */
export async function initHome (home: string, args: string[] = [], options: { env?: Record<string, string> } = {}): Promise<{ home: string, peerId: string }> {
  const run = await ipms(home, ['init', '--json', ...args], options)
  if (run.code !== 0) throw new Error(`ipms init failed (exit ${run.code}): ${run.stderr}`)
  return { home, peerId: run.json.peerId }
}

export interface Daemon {
  child: ChildProcess
  /** Events seen so far (JSON lines). */
  events: any[]
  /** The first event (past or future) that `match` accepts; rejects at the deadline or if the daemon exits. */
  next: (match: (event: any) => boolean, options?: { timeoutMs?: number }) => Promise<any>
  /** SIGTERM, then the exit code. */
  stop: () => Promise<number | null>
}

/**
 * Start `ipms --home <home> daemon --json …args` and wait for its `started` event. `wrap` runs it
 * through another command (e.g. `ip netns exec NS`).
 */
export async function startDaemon (home: string, args: string[] = [], options: { env?: Record<string, string>, wrap?: string[] } = {}): Promise<Daemon & { started: any }> {
  const [command, ...rest] = [...options.wrap ?? [], IPMS_BIN, '--home', home, 'daemon', '--json', ...args]
  const child = spawn(command!, rest, { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const events: any[] = []
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const waiters = new Set<() => void>()
  createInterface({ input: child.stdout! }).on('line', line => {
    try { events.push(JSON.parse(line)) } catch { events.push({ event: 'unparsed', line }) }
    for (const wake of waiters) wake()
  })
  const exited = once(child, 'exit')
  const next: Daemon['next'] = async (match, { timeoutMs = 30_000 } = {}) => await new Promise((resolve, reject) => {
    const check = (): void => {
      const found = events.find(match)
      if (found !== undefined) { done(); resolve(found) }
    }
    const timer = setTimeout(() => { done(); reject(new Error(`no such daemon event within ${timeoutMs} ms; events: ${JSON.stringify(events)}; stderr: ${stderr}`)) }, timeoutMs)
    const onExit = (): void => { done(); reject(new Error(`the daemon exited (${String(child.exitCode)}); events: ${JSON.stringify(events)}; stderr: ${stderr}`)) }
    const done = (): void => { clearTimeout(timer); waiters.delete(check); child.off('exit', onExit) }
    waiters.add(check)
    child.once('exit', onExit)
    check()
  })
  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
    return child.exitCode
  }
  try {
    const started = await next(e => e.event === 'started')
    return { child, events, next, stop, started }
  } catch (err) {
    await stop()
    throw err
  }
}

/**
 * `owner` grants the host that `hostDaemon` runs (at its first address), the host accepts, and its
 * daemon picks the grant up; resolves with the grant and the owner's new card (`ipms hosts grant --json`).
 */
export async function grantRunningHost (owner: { home: string, peerId: string }, host: { home: string, peerId: string }, hostDaemon: Daemon & { started: any }): Promise<{ grant: string, card: string }> {
  const hostAddr = (hostDaemon.started.addrs[0] as string).replace(/\/p2p\/.*/, '')
  const granted = await ipms(owner.home, ['hosts', 'grant', host.peerId, '--addr', hostAddr, '--json'])
  if (granted.code !== 0) throw new Error(`ipms hosts grant failed (exit ${granted.code}): ${granted.stderr}`)
  const accepted = await ipms(host.home, ['host', 'accept', granted.json.grant, '--card', granted.json.card])
  if (accepted.code !== 0) throw new Error(`ipms host accept failed (exit ${accepted.code}): ${accepted.stderr}`)
  await hostDaemon.next(e => e.event === 'hosting' && e.owner === owner.peerId)
  return { grant: granted.json.grant, card: granted.json.card }
}

/** A daemon started on `host`'s home (loopback, port 0) that keeps `owner`'s inbox: granted and accepted. The daemon and the owner's new card. */
export async function startHostFor (owner: { home: string, peerId: string }, host: { home: string, peerId: string }): Promise<{ hostDaemon: Daemon & { started: any }, card: string }> {
  const hostDaemon = await startDaemon(host.home, ['--listen', '/ip4/127.0.0.1/tcp/0'])
  try {
    return { hostDaemon, card: (await grantRunningHost(owner, host, hostDaemon)).card }
  } catch (err) {
    await hostDaemon.stop()
    throw err
  }
}
