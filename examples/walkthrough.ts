/**
 * The README's quick start, run for real (`npm start`): three homes on this machine — Alice, Bob,
 * and a friend's host — talking over 127.0.0.1 through the `ipms` binary. Bob grants the host,
 * Alice sends to Bob while Bob is offline, Bob syncs and reads. Each step prints the command and
 * what it answered. The homes are temporary and removed at the end.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ipms, startDaemon, type CliRun } from './ipms-cli.ts'

/** A low difficulty keeps the demo quick; real inboxes default to 24 bits (about a second). */
const DEMO_BITS = 18

export interface WalkthroughStep { who: string, command: string, run: CliRun }

export interface WalkthroughOptions {
  /**
   * Run `ipms daemon` on Alice's and Bob's homes too (from Bob's grant on), so that every command
   * after it goes through a daemon's local API instead of opening the home (the CLI tests run the
   * walk-through both ways). Their daemons are in `daemons` while the walk-through runs.
   */
  daemons?: boolean
  onDaemon?: (who: 'alice' | 'bob', daemon: Awaited<ReturnType<typeof startDaemon>>) => void
}

/** Run the walk-through; `onStep` sees every command as it completes. Throws on the first failure. */
export async function walkthrough (onStep: (step: WalkthroughStep) => void = () => {}, options: WalkthroughOptions = {}): Promise<WalkthroughStep[]> {
  const root = await mkdtemp(join(tmpdir(), 'ipms-walkthrough-'))
  const homes = { alice: join(root, 'alice'), bob: join(root, 'bob'), host: join(root, 'host') }
  const steps: WalkthroughStep[] = []
  const step = async (who: keyof typeof homes, args: string[], input?: string): Promise<CliRun> => {
    const run = await ipms(homes[who], args, { input })
    const shown = args.map(a => a.length > 40 ? `${a.slice(0, 20)}…` : a.includes(' ') ? JSON.stringify(a) : a).join(' ')
    const done = { who, command: `ipms ${shown}${input === undefined ? '' : ' < message'}`, run }
    steps.push(done)
    onStep(done)
    if (run.code !== 0) throw new Error(`${who}: ${done.command} exited with ${run.code}: ${run.stderr}${run.stdout}`)
    return run
  }
  let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined
  const owners: Array<Awaited<ReturnType<typeof startDaemon>>> = []
  try {
    await step('alice', ['init'])
    await step('bob', ['init', '--bits', String(DEMO_BITS)])
    await step('host', ['init'])
    // The friend's always-online host.
    daemon = await startDaemon(homes.host, ['--listen', '/ip4/127.0.0.1/tcp/0'])
    const hostAddress = daemon.started.addrs[0] as string
    const hostPeer = daemon.started.peerId as string
    onStep({ who: 'host', command: 'ipms daemon --listen /ip4/127.0.0.1/tcp/0   (left running)', run: { code: 0, stdout: `listening on ${hostAddress}\n`, stderr: '' } })
    // Bob grants the host; its operator accepts.
    const grant = await step('bob', ['hosts', 'grant', hostPeer, '--addr', hostAddress.replace(/\/p2p\/.*$/, ''), '--json'])
    await step('host', ['host', 'accept', grant.json.grant, '--card', grant.json.card])
    await daemon.next(e => e.event === 'hosting')
    if (options.daemons === true) {
      for (const who of ['alice', 'bob'] as const) {
        const started = await startDaemon(homes[who], ['--listen', '/ip4/127.0.0.1/tcp/0'])
        owners.push(started)
        options.onDaemon?.(who, started)
      }
    }
    // Alice learns Bob's card and writes while Bob is offline.
    const card = await step('bob', ['card', '--json'])
    await step('alice', ['contacts', 'add', 'bob', card.json.card])
    const alice = await step('alice', ['id', '--json'])
    await step('bob', ['contacts', 'add', 'alice', alice.json.peerId])
    await step('alice', ['send', 'bob', '--subject', 'Lunch?'], 'Noon at the usual place?\n')
    // Bob comes online, syncs and reads.
    await step('bob', ['sync'])
    await step('bob', ['list'])
    await step('bob', ['read', '1'])
    return steps
  } finally {
    for (const owner of owners) await owner.stop()
    await daemon?.stop()
    await rm(root, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log('IPMS walk-through: Alice, Bob and a friend\'s host, in temporary homes on 127.0.0.1.\n')
  await walkthrough(({ who, command, run }) => {
    console.log(`── ${who}$ ${command}`)
    const text = (run.stdout + (run.code === 0 ? '' : run.stderr)).trimEnd()
    if (text !== '') console.log(text.split('\n').map(l => `   ${l.length > 160 ? `${l.slice(0, 157)}…` : l}`).join('\n'))
    console.log()
  })
  console.log('Done: Bob read Alice\'s mail, and the host dropped it after Bob\'s sync.')
}
