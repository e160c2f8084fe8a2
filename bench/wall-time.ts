/**
 * Wall times of a command, measured from this small process as a shell would start it: a process
 * started by a large one (a bench run past its first sections holds ~1 GiB) pays for copying that
 * one's page tables at every start, ~35 ms on this machine, which is nobody's command's cost.
 *
 *   node bench/wall-time.ts '{"command":"bin/ipms","args":["id"],"input":"","runs":7}'
 *
 * Prints `{ "times": [ms, …] }` (one warm-up run first, not counted), or `{ "error": "…" }` for
 * a run that exited with another code than 0.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'

const { command, args, input, runs } = JSON.parse(process.argv[2]!) as { command: string, args: string[], input: string, runs: number }

async function timedRun (): Promise<number> {
  const start = performance.now()
  const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  child.stdin.end(input)
  const [code] = await once(child, 'close') as [number | null]
  if (code !== 0) throw new Error(`exit ${code}: ${stderr}`)
  return performance.now() - start
}

try {
  await timedRun()
  const times: number[] = []
  for (let i = 0; i < runs; i++) times.push(await timedRun())
  process.stdout.write(JSON.stringify({ times }))
} catch (err) {
  process.stdout.write(JSON.stringify({ error: (err as Error).message }))
}
