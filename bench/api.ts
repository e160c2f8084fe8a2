/**
 * The daemon's local API (issue #12), through the real binary and the real socket:
 * 1. wall time of `ipms id`, `ipms list` (20 mails kept) and `ipms send` (8 bits, to a host on
 *    127.0.0.1), each through a running daemon, beside the same command run cold on the same home
 *    with no daemon (medians; process start included);
 * 2. latency from a host storing a mail (its receipt) to the `mail` event at a client of the
 *    owner's daemon's event stream (`GET /api/v1/events`, what `ipms events` reads), beside the
 *    send → receipt latency of the same mails.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { connectDaemon } from '../src/api/client.ts'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { IPMS_BIN, grantRunningHost, initHome, ipms, startDaemon } from '../examples/ipms-cli.ts'
import { formatNumber, median, printRows, type Row } from './row.ts'

/** Runs of each command, after one warm-up run. */
const RUNS = 7
/** Mails kept in the owner's home for `ipms list`, and mails timed to the event stream. */
const MAILS = 20

const ms = (value: number): string => `${formatNumber(value)} ms`
const run = promisify(execFile)

/**
 * Median wall time of `RUNS` runs of `ipms …args` (one warm-up first), timed by a small process of
 * its own (bench/wall-time.ts): from this one, which holds every section's memory, each start
 * would also pay for copying its page tables.
 */
async function medianWall (home: string, args: string[], input?: string): Promise<number> {
  const timer = await execNode([new URL('./wall-time.ts', import.meta.url).pathname, JSON.stringify({ command: IPMS_BIN, args: ['--home', home, ...args], input: input ?? '', runs: RUNS })])
  const answer = JSON.parse(timer) as { times?: number[], error?: string }
  if (answer.times === undefined) throw new Error(`ipms ${args.join(' ')}: ${answer.error ?? 'no times'}`)
  return median(answer.times)
}

/** Run a Node script with this process's Node; resolves with its stdout. */
async function execNode (args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, ['--disable-warning=ExperimentalWarning', ...args], { maxBuffer: 1024 * 1024 })
  return stdout
}

export async function benchApi (): Promise<Row[]> {
  const root = await mkdtemp(join(tmpdir(), 'ipms-bench-api-'))
  const rows: Row[] = []
  try {
    const [host, alice, bob] = [await initHome(join(root, 'host')), await initHome(join(root, 'alice')), await initHome(join(root, 'bob'), ['--bits', '8'])]
    const hostDaemon = await startDaemon(host.home)
    try {
      const { card } = await grantRunningHost(bob, host, hostDaemon)
      if ((await ipms(alice.home, ['contacts', 'add', 'bob', card])).code !== 0) throw new Error('contacts add failed')
      for (let i = 0; i < MAILS; i++) {
        if ((await ipms(alice.home, ['send', 'bob', '-s', `mail ${i}`], { input: `body ${i}` })).code !== 0) throw new Error('send failed')
      }
      if ((await ipms(bob.home, ['sync'])).code !== 0) throw new Error('sync failed')

      // 1. Cold (no daemon on the home), then through a running daemon.
      const cold = {
        id: await medianWall(bob.home, ['id']),
        list: await medianWall(bob.home, ['list']),
        send: await medianWall(alice.home, ['send', 'bob', '-s', 'timed'], 'a timed send')
      }
      const [bobDaemon, aliceDaemon] = [await startDaemon(bob.home), await startDaemon(alice.home)]
      try {
        const warm = {
          id: await medianWall(bob.home, ['id']),
          list: await medianWall(bob.home, ['list']),
          send: await medianWall(alice.home, ['send', 'bob', '-s', 'timed'], 'a timed send')
        }
        for (const [name, target] of [['id', true], ['list', true], ['send', false]] as const) {
          const ratio = warm[name] / cold[name]
          rows.push({
            measure: `\`ipms ${name}\` through a running daemon${name === 'list' ? ` (${MAILS} mails kept)` : name === 'send' ? ' (8 bits, to a host on 127.0.0.1, fresh sender identity)' : ''}: wall time including process start (started by a small process, as a shell starts it), median of ${RUNS}`,
            ipms: ms(warm[name]),
            baseline: `${ms(cold[name])} (the same command on the same home with no daemon)`,
            ratio: `${ratio.toFixed(2)} × the cold time`,
            target: target ? '≤ 300 ms and ≤ 0.25 × cold' : '— (context)',
            met: target ? warm[name] <= 300 && ratio <= 0.25 : null
          })
        }

        // 2. Host stores (receipt) → `mail` event at a client of the owner's event stream.
        const client = await connectDaemon(bob.home)
        const sender = await connectDaemon(alice.home)
        if (client === undefined || sender === undefined) throw new Error('a daemon does not answer on its socket')
        const stop = new AbortController()
        const seen = new Map<string, number>()
        let onSeen = (): void => {}
        const reading = (async () => {
          for await (const event of client.events({ signal: stop.signal })) {
            if ('reset' in event || event.type !== 'mail') continue
            seen.set(String(event.data.entry), performance.now())
            onSeen()
          }
        })().catch(() => {})
        const toEvent: number[] = []
        const toReceipt: number[] = []
        for (let i = 0; i < MAILS; i++) {
          const started = performance.now()
          const sent = await sender.stream('/send', { to: 'bob', subject: `live ${i}`, body: `live ${i}` }, () => {})
          const receipted = performance.now()
          const entry = String(((sent as { receipts?: Array<{ entry: string }> }).receipts ?? [])[0]?.entry ?? '')
          if (entry === '') throw new Error(`no receipt in ${JSON.stringify(sent)}`)
          if (!seen.has(entry)) {
            await new Promise<void>((resolve, reject) => {
              const timer = setTimeout(() => { reject(new Error(`no mail event for ${entry} within 30 s`)) }, 30_000)
              onSeen = () => { if (seen.has(entry)) { clearTimeout(timer); resolve() } }
            })
          }
          toEvent.push(seen.get(entry)! - receipted)
          toReceipt.push(receipted - started)
        }
        stop.abort()
        await reading
        const p50 = median(toEvent)
        rows.push({
          measure: `a host stores a mail (its receipt reaches the sender) → the \`mail\` event at a client of the owner's daemon (GET /api/v1/events, what \`ipms events\` reads); ${MAILS} mails one after another, 8 bits, sent through the sender's daemon`,
          ipms: `p50 ${ms(p50)}, max ${ms(Math.max(...toEvent))}`,
          baseline: `p50 ${ms(median(toReceipt))} (send → receipt of the same mails: stamp, seal, deliver)`,
          ratio: `${(p50 / median(toReceipt)).toFixed(2)} × send → receipt`,
          target: 'p50 ≤ 50 ms',
          met: p50 <= 50
        })
      } finally {
        await bobDaemon.stop()
        await aliceDaemon.stop()
      }
    } finally {
      await hostDaemon.stop()
    }
  } finally {
    await rm(root, { recursive: true, force: true })
  }
  return rows
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await printRows(benchApi)
