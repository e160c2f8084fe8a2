/**
 * A host in a child process (test/helpers/host-process.ts) seen from outside: its address, its
 * resident memory and CPU time as the kernel counts them, for abuse tests and benchmarks that must
 * measure the host alone, not the attacker beside it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { identityFromSeed } from '../../src/identity/identity.ts'
import { makeTempHome } from './nodes.ts'

export interface HostChild {
  child: ChildProcess
  /** Its multiaddr, with /p2p. */
  address: string
  peerId: string
  /** Resident set size now, bytes (VmRSS). */
  rss: () => number
  /** User + system CPU time so far, ms. */
  cpuMs: () => number
  /** Kill it and remove its home. */
  stop: () => Promise<void>
}

/** Start a host keeping `owner`'s inbox at `bits`, on 127.0.0.1 (a free port); resolves once it is ready. */
export async function startHostChild (owner: string, bits: number, options: { signal?: AbortSignal } = {}): Promise<HostChild> {
  const home = await makeTempHome('ipms-host-child-')
  const seed = randomBytes(32).toString('hex')
  const { peerId } = await identityFromSeed(new Uint8Array(Buffer.from(seed, 'hex')))
  const script = new URL('./host-process.ts', import.meta.url).pathname
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', script, home, seed, '0', owner, String(bits)], { stdio: ['ignore', 'pipe', 'inherit'] })
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    }
    await rm(home, { recursive: true, force: true })
  }
  const signal = options.signal ?? AbortSignal.timeout(60_000)
  try {
    for await (const line of createInterface({ input: child.stdout! })) {
      signal.throwIfAborted()
      if (!line.startsWith('READY ')) continue
      const status = (): string => readFileSync(`/proc/${child.pid!}/status`, 'utf8')
      const stat = (): string[] => readFileSync(`/proc/${child.pid!}/stat`, 'utf8').split(') ')[1]!.split(' ')
      const ticks = 100 // USER_HZ on Linux
      return {
        child,
        address: line.slice(6),
        peerId,
        rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(status())![1]) * 1024,
        cpuMs: () => { const fields = stat(); return (Number(fields[11]) + Number(fields[12])) * 1000 / ticks },
        stop
      }
    }
    throw new Error('the host process ended before it was ready')
  } catch (err) {
    await stop()
    throw err
  }
}
