/**
 * The CLI as the daemon's client (README, "The daemon's local API"; issue #12), through the real
 * binary: a representative subset of the exit-code tests run with and without a daemon holding
 * every home (same exit code, same failure line); `ipms events` live and resumed with `--since`;
 * a daemon killed with kill -9 leaves a stale `api` that the next command removes; `--offline`;
 * 20 concurrent `ipms send` through one daemon deliver 20 distinct mails.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IPMS_BIN, grantRunningHost, initHome, ipms, startDaemon, type Daemon } from '../../examples/ipms-cli.ts'
import { EXIT } from '../../src/cli/exit-codes.ts'
import { throughDaemon, WAYS } from './ways.ts'

let root: string
let n = 0
const newHome = async (...args: string[]): Promise<{ home: string, peerId: string }> => await initHome(join(root, `home-${++n}`), args)
const API_FILES = ['api', 'api.cookie', 'api.sock']
const apiFiles = async (home: string): Promise<string[]> => (await readdir(home)).filter(name => API_FILES.includes(name)).sort()

before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-through-daemon-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

/** The failure line of a run (the last line of stderr), checked to be one line with the exit code. */
const failureLine = (run: { code: number, stderr: string, stdout: string }, code: number): string => {
  assert.equal(run.code, code, `exit ${run.code}: ${run.stderr}${run.stdout}`)
  const lines = run.stderr.trim().split('\n')
  assert.equal(lines.filter(l => l.startsWith('ipms: ')).length, 1, `one failure line: ${run.stderr}`)
  return lines.at(-1)!
}

for (const way of WAYS) {
  test(`exit codes and failure lines (not found 67, unknown recipient 67, unreachable host 69, no replica 69); a waiting mail given up with outbox rm — ${way}`, async () => {
    const sender = await newHome()
    const deadHost = await newHome()
    const owner = await newHome('--bits', '8')
    const granted = await ipms(owner.home, ['hosts', 'grant', deadHost.peerId, '--addr', '/ip4/127.0.0.1/tcp/9', '--json'])
    assert.equal(granted.code, 0, granted.stderr)
    const daemons: Daemon[] = []
    try {
      if (throughDaemon(way)) for (const h of [sender, owner]) daemons.push(await startDaemon(h.home, ['--listen', '/ip4/127.0.0.1/tcp/0']))
      assert.match(failureLine(await ipms(owner.home, ['read', 'zzzzzzzz']), EXIT.NOT_FOUND), /^ipms: No mail zzzzzzzz here/)
      const json = await ipms(owner.home, ['read', 'zzzzzzzz', '--json'])
      assert.equal(json.code, EXIT.NOT_FOUND)
      assert.equal(json.json.error.code, 'ERR_NOT_FOUND')
      assert.match(failureLine(await ipms(sender.home, ['send', 'carol'], { input: 'hi' }), EXIT.NOT_FOUND), /"carol" is not a contact.*ipms contacts add carol CARD/)
      const sent = await ipms(sender.home, ['send', granted.json.card, '-s', 'hello'], { input: 'are you there?' })
      assert.match(failureLine(sent, EXIT.UNREACHABLE), /^ipms: Not delivered yet \(0 of 1 receipt\).*waits in the outbox/)
      const outbox = await ipms(sender.home, ['outbox', '--json'])
      assert.equal(outbox.code, 0, outbox.stderr)
      assert.equal(outbox.json.outbox.length, 1)
      assert.equal(outbox.json.outbox[0].to, owner.peerId)
      assert.match(outbox.json.outbox[0].lastError, /ERR_DELIVERY/)
      assert.equal(outbox.json.outbox[0].subject, 'hello', 'the subject, from the mail kept as sent')
      assert.match((await ipms(sender.home, ['outbox'])).stdout, /^\S{8} {2}to 12D3KooW\S+ {2}"hello" {2}since /m)
      // Given up: out of the outbox, never tried again; a second rm finds nothing.
      const id = String(outbox.json.outbox[0].id)
      const cancelled = await ipms(sender.home, ['outbox', 'rm', id.slice(-8)])
      assert.equal(cancelled.code, 0, cancelled.stderr)
      assert.match(cancelled.stdout, new RegExp(`^Gave up ${id.slice(-8)} to 12D3KooW`))
      assert.deepEqual((await ipms(sender.home, ['outbox', '--json'])).json.outbox, [])
      assert.match(failureLine(await ipms(sender.home, ['outbox', 'rm', id.slice(-8)]), EXIT.NOT_FOUND), /No mail \S+ waits in the outbox/)
      const sync = await ipms(owner.home, ['sync', '--json'])
      assert.equal(sync.code, EXIT.UNREACHABLE, sync.stdout)
      assert.equal(sync.json.error.code, 'ERR_NO_REPLICA')
    } finally {
      for (const d of daemons) assert.equal(await d.stop(), 0)
    }
    if (throughDaemon(way)) {
      // The sends went through the sender's daemon: its outbox event says so.
      assert.ok(daemons[0]!.events.some(e => e.event === 'outbox' && e.to === owner.peerId), JSON.stringify(daemons[0]!.events))
    }
  })
}

/** `ipms events --json …args` on `home` in the background; its JSON lines as they come. */
function watchEvents (home: string, args: string[] = []): { child: ChildProcess, lines: any[], until: (count: (lines: any[]) => boolean, timeoutMs?: number) => Promise<void>, exit: Promise<unknown[]> } {
  const child = spawn(IPMS_BIN, ['--home', home, 'events', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: any[] = []
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const waiters = new Set<() => void>()
  createInterface({ input: child.stdout! }).on('line', line => { lines.push(JSON.parse(line)); for (const w of waiters) w() })
  const exit = once(child, 'exit')
  const until = async (holds: (lines: any[]) => boolean, timeoutMs = 60_000): Promise<void> => {
    await new Promise<void>((resolve, reject) => {
      const check = (): void => { if (holds(lines)) { done(); resolve() } }
      const timer = setTimeout(() => { done(); reject(new Error(`ipms events: not seen within ${timeoutMs} ms: ${JSON.stringify(lines)} ${stderr}`)) }, timeoutMs)
      const onExit = (): void => { done(); reject(new Error(`ipms events exited (${String(child.exitCode)}): ${JSON.stringify(lines)} ${stderr}`)) }
      const done = (): void => { clearTimeout(timer); waiters.delete(check); child.off('exit', onExit) }
      waiters.add(check)
      child.once('exit', onExit)
      check()
    })
  }
  return { child, lines, until, exit }
}

test('ipms events: two mails live, then --since replays them exactly once; it ends (exit 0) when the daemon stops; no daemon: exit 69', async () => {
  const [host, alice, bob] = [await newHome(), await newHome(), await newHome('--bits', '8')]
  const none = await ipms(bob.home, ['events'])
  assert.match(failureLine(none, EXIT.UNREACHABLE), /No daemon runs on .*ipms daemon/)
  assert.equal((await ipms(bob.home, ['watch', '--json'])).json.error.code, 'ERR_NO_DAEMON', 'the alias, and --json')
  const hostDaemon = await startDaemon(host.home, ['--listen', '/ip4/127.0.0.1/tcp/0'])
  let bobDaemon: Daemon | undefined
  let live: ReturnType<typeof watchEvents> | undefined
  try {
    const { card } = await grantRunningHost(bob, host, hostDaemon)
    assert.equal((await ipms(alice.home, ['contacts', 'add', 'bob', card])).code, 0)
    bobDaemon = await startDaemon(bob.home, ['--listen', '/ip4/127.0.0.1/tcp/0'])
    // --since 0: what the daemon keeps first (so `started` shows it is connected), then live.
    live = watchEvents(bob.home, ['--since', '0'])
    await live.until(lines => lines.some(l => l.event === 'started'))
    const before = live.lines.length
    for (const subject of ['one', 'two']) {
      const sent = await ipms(alice.home, ['send', 'bob', '-s', subject], { input: `mail ${subject}\n` })
      assert.equal(sent.code, 0, sent.stderr)
    }
    await live.until(lines => lines.filter(l => l.event === 'mail').length === 2)
    const mails = live.lines.slice(before).filter(l => l.event === 'mail')
    assert.ok(mails.every(m => m.from === alice.peerId && typeof m.eventId === 'number' && typeof m.id === 'string'))
    live.child.kill('SIGTERM')
    await live.exit
    // Resume from just before the first mail: both again, once each, in order.
    const resumed = watchEvents(bob.home, ['--since', String(mails[0].eventId - 1)])
    await resumed.until(lines => lines.filter(l => l.event === 'mail').length >= 2)
    assert.deepEqual(resumed.lines.filter(l => l.event === 'mail').map(l => l.eventId), mails.map(m => m.eventId))
    // The daemon stops: the stream ends, and so does `ipms events`, with exit 0.
    assert.equal(await bobDaemon.stop(), 0)
    const [code] = await resumed.exit
    assert.equal(code, 0)
    assert.deepEqual(resumed.lines.filter(l => l.event === 'mail').map(l => l.eventId), mails.map(m => m.eventId), 'exactly once')
    assert.equal(resumed.lines.at(-1).event, 'stopped')
  } finally {
    live?.child.kill('SIGTERM')
    await bobDaemon?.stop()
    assert.equal(await hostDaemon.stop(), 0)
  }
})

test('kill -9 of the daemon: the next ipms list finds the stale api files, removes them and works on the home itself', async () => {
  const owner = await newHome()
  const daemon = await startDaemon(owner.home, ['--listen', '/ip4/127.0.0.1/tcp/0'])
  assert.deepEqual(await apiFiles(owner.home), API_FILES)
  daemon.child.kill('SIGKILL')
  await once(daemon.child, 'exit').catch(() => {})
  await daemon.stop()
  assert.deepEqual(await apiFiles(owner.home), API_FILES, 'kill -9 leaves them')
  const list = await ipms(owner.home, ['list'])
  assert.equal(list.code, 0, list.stderr)
  assert.match(list.stdout, /^No mail here yet/)
  assert.deepEqual(await apiFiles(owner.home), [], 'removed')
})

test('--offline works on the home itself: with a daemon running, list works and sync exits 75 (the home is locked); without it, sync asks the daemon', async () => {
  const owner = await newHome()
  const daemon = await startDaemon(owner.home, ['--listen', '/ip4/127.0.0.1/tcp/0'])
  try {
    assert.equal((await ipms(owner.home, ['list', '--offline'])).code, 0)
    assert.match(failureLine(await ipms(owner.home, ['sync', '--offline', '--wait', '0']), EXIT.HOME_IN_USE), /in use/)
    const id = await ipms(owner.home, ['id', '--json', '--offline'])
    assert.equal(id.code, 0, id.stderr)
    const sync = await ipms(owner.home, ['sync', '--json'])
    assert.equal(sync.code, 0, sync.stderr)
    assert.deepEqual(sync.json.received, [])
    assert.match(failureLine(await ipms(owner.home, ['sync', '--no-prune']), EXIT.USAGE), /--no-prune: the daemon/)
  } finally {
    assert.equal(await daemon.stop(), 0)
  }
  assert.deepEqual(await apiFiles(owner.home), [], 'a clean stop removes them')
})

test('20 concurrent ipms send through one daemon: each exits 0 with its receipt, the owner reads exactly 20 distinct mails', async () => {
  const SENDS = 20
  const [host, alice, bob] = [await newHome(), await newHome(), await newHome('--bits', '8')]
  const hostDaemon = await startDaemon(host.home, ['--listen', '/ip4/127.0.0.1/tcp/0'])
  let aliceDaemon: Daemon | undefined
  try {
    const { card } = await grantRunningHost(bob, host, hostDaemon)
    assert.equal((await ipms(alice.home, ['contacts', 'add', 'bob', card])).code, 0)
    aliceDaemon = await startDaemon(alice.home, ['--listen', '/ip4/127.0.0.1/tcp/0'])
    const subjects = Array.from({ length: SENDS }, (_, i) => `mail ${i}`)
    // 20 processes of the real binary at once, all handing their mail to Alice's daemon.
    const runs = await Promise.all(subjects.map(async s => await ipms(alice.home, ['send', 'bob', '-s', s, '--json'], { input: `body of ${s}\n`, timeoutMs: 240_000 })))
    for (const run of runs) {
      assert.equal(run.code, 0, `${run.stderr}${run.stdout}`)
      assert.equal(run.json.delivered, true)
      assert.equal(run.json.receipts.length, 1)
      assert.equal(run.json.receipts[0].host, host.peerId)
    }
    assert.equal(new Set(runs.map(r => r.json.id)).size, SENDS, '20 distinct mails sent')
    assert.equal(new Set(runs.map(r => r.json.receipts[0].entry)).size, SENDS, '20 distinct entries stored')
    const outbox = await ipms(alice.home, ['outbox', '--json'])
    assert.deepEqual(outbox.json.outbox, [], 'nothing left to retry')
    // Bob (no daemon) fetches them: each exactly once.
    const sync = await ipms(bob.home, ['sync', '--json'])
    assert.equal(sync.code, 0, sync.stderr)
    assert.equal(sync.json.received.length, SENDS)
    const list = await ipms(bob.home, ['list', '--json'])
    assert.equal(list.code, 0, list.stderr)
    assert.equal(list.json.mail.length, SENDS)
    assert.deepEqual(list.json.mail.map((m: any) => m.subject).sort(), [...subjects].sort())
    assert.deepEqual(new Set(list.json.mail.map((m: any) => m.entry)), new Set(runs.map(r => r.json.receipts[0].entry)))
  } finally {
    if (aliceDaemon !== undefined) assert.equal(await aliceDaemon.stop(), 0)
    assert.equal(await hostDaemon.stop(), 0)
  }
})
