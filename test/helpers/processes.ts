/**
 * Nodes as child processes, for crash tests (kill -9 and restart): a free TCP port to restart a
 * host on, and a helper script (host-process.ts, owner-process.ts) started and waited for until it
 * prints its ready line. Every child started is remembered; `killAll()` in an `after` hook.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'

export interface Child {
  child: ChildProcess
  /** What followed the ready prefix on the ready line (a host's multiaddr). */
  ready: string
  /** Lines printed after the ready line (bounded to the last 1,000). */
  lines: string[]
}

const started = new Set<ChildProcess>()

/** A TCP port free on 127.0.0.1 now (for a host that must come back on the same address). */
export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/** Run `test/helpers/<script>` with `args` in Node; resolves once it prints a line starting with `readyPrefix`. */
export async function startChild (script: string, args: string[], readyPrefix: string, timeoutMs = 60_000): Promise<Child> {
  const path = new URL(`./${script}`, import.meta.url).pathname
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', path, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  // The end of its stderr, to say why it ended when it does before it is ready.
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-2000) })
  started.add(child)
  child.once('exit', () => { started.delete(child) })
  const lines = createInterface({ input: child.stdout! })
  const after: string[] = []
  let ready: string | undefined
  const readyLine = new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      if (ready === undefined && line.startsWith(readyPrefix)) resolve(line.slice(readyPrefix.length).trim())
      else if (ready !== undefined) { after.push(line); if (after.length > 1000) after.shift() }
    })
    child.once('exit', (code, signal) => { reject(new Error(`${script} ended before it was ready (${signal ?? `exit ${code}`}): ${stderr}`)) })
  })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, timeoutMs)
  try {
    ready = await readyLine
  } finally {
    clearTimeout(timer)
  }
  return { child, ready, lines: after }
}

/** kill -9 `child` and wait until it is gone. */
export async function kill9 (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
}

/** kill -9 every child still running (an `after` hook). */
export async function killAll (): Promise<void> {
  await Promise.all([...started].map(kill9))
}
