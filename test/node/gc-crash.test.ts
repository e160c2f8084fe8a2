/**
 * kill -9 during prune and GC (issue #11.1): an owner's node prunes many mails in small PRUNEs,
 * each followed by the deletion of their envelopes, and is killed at a different step each run
 * (before a PRUNE is appended, while GC deletes pin records, blocks, or forgets the queue, after a
 * prune). After every kill the inbox must open again; at the end a run without a kill finishes
 * every prune, and no pruned envelope keeps a block or a pin record.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { rm } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { makeTempHome } from '../helpers/nodes.ts'

const BITS = 8
const MAILS = 60
const CHUNK = 3
/** Steps at which runs are killed: each phase of a prune (PRUNE, 3 GC steps, PRUNED) at least twice. */
const KILL_AT = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13]
const homes: string[] = []
after(async () => { await Promise.all(homes.map(async h => await rm(h, { recursive: true, force: true }))) })

interface Run { lines: string[], code: number | null, signal: NodeJS.Signals | null, killedAt?: string }

/**
 * Run the owner process; with `killAt`, SIGKILL it as soon as it reports its `killAt`-th step after
 * its open (a PRUNE/PRUNED line on stdout or a GC step on stderr).
 */
async function run (home: string, seed: string, args: string[], killAt?: number): Promise<Run> {
  const script = new URL('../helpers/gc-process.ts', import.meta.url).pathname
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', script, home, seed, String(BITS), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DEBUG: 'ipms:mailbox' }
  })
  const result: Run = { lines: [], code: null, signal: null }
  let steps = 0
  let opened = false
  const onLine = (line: string, step: boolean): void => {
    result.lines.push(line)
    // Steps count once the open (and the GC it finishes) is over: the next run checks that open.
    if (line.startsWith('CHECK ')) opened = true
    if (!step || !opened || killAt === undefined || result.killedAt !== undefined) return
    if (++steps === killAt) {
      result.killedAt = line
      child.kill('SIGKILL')
    }
  }
  createInterface({ input: child.stdout }).on('line', line => { onLine(line, line === 'PRUNE' || line === 'PRUNED') })
  createInterface({ input: child.stderr }).on('line', line => { onLine(line, /ipms:mailbox (deleting|deleted|collected)/.test(line)) })
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
  try {
    const [code, signal] = await once(child, 'exit') as [number | null, NodeJS.Signals | null]
    return Object.assign(result, { code, signal })
  } finally {
    clearTimeout(timer)
  }
}

const pendingAtOpen = (r: Run): number => {
  const open = r.lines.find(l => l.startsWith('OPEN '))
  assert.ok(open, `the inbox opened (output: ${r.lines.join(' | ')})`)
  return Number(open.slice(5))
}

test('kill -9 at many points of prune and GC: the inbox always opens again, and a last run prunes and collects everything', async () => {
  const home = await makeTempHome('ipms-gc-crash-')
  homes.push(home)
  const seed = randomBytes(32).toString('hex')
  const filled = await run(home, seed, ['fill', String(MAILS)])
  assert.equal(filled.code, 0, filled.lines.join('\n'))

  let pending = MAILS
  for (const killAt of KILL_AT) {
    const killed = await run(home, seed, ['prune', String(CHUNK)], killAt)
    // The run opened the inbox left by the previous kill, and that open finished its GC.
    assert.ok(pendingAtOpen(killed) <= pending, 'nothing came back')
    assert.ok(killed.lines.some(l => /^CHECK pruned=\d+ leftover=0$/.test(l)), `GC finished at open: ${killed.lines.join(' | ')}`)
    assert.ok(killed.killedAt !== undefined && killed.signal === 'SIGKILL', `killed at step ${killAt} (output: ${killed.lines.join(' | ')})`)
    pending = pendingAtOpen(killed)
  }
  const last = await run(home, seed, ['prune', String(CHUNK)])
  assert.equal(last.code, 0, last.lines.join('\n'))
  assert.ok(last.lines.includes('DONE'))
  const check = await run(home, seed, ['check'])
  assert.equal(check.code, 0, check.lines.join('\n'))
  assert.equal(pendingAtOpen(check), 0)
  assert.ok(check.lines.includes(`CHECK pruned=${MAILS} leftover=0`), check.lines.join(' | '))
})
