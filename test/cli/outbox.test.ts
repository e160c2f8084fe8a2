/**
 * The outbox under concurrency through the real binary (issue #11, defect 6): concurrent
 * `ipms send --timeout 5s` to a frozen (SIGSTOP'd) host each end within their own timeout, never
 * trying the mail another send has in flight; once the host runs again, two concurrent
 * `ipms outbox retry` deliver every mail exactly once. A send from a machine whose clock is 2 days
 * off (defect 4) is refused and says so; once the clock is right, `ipms outbox retry` stamps it
 * again and delivers it. A mail a host refuses because its grant expired (issue #14) is given up at
 * once, said as expired, listed with the reason, tried by no `ipms outbox retry` but one by its id
 * (exit 69 when nothing tried went), and removed by `ipms outbox rm`. A retry delivers by the
 * recipient's current card: the host the mail was sent to is gone from it, the new one gets it.
 * Real child processes on 127.0.0.1.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface, type Interface } from 'node:readline'
import { grantRunningHost, IPMS_BIN, ipms, startDaemon, type Daemon } from '../../examples/ipms-cli.ts'
import { EXIT } from '../../src/cli/exit-codes.ts'
import { identityFromSeed } from '../../src/identity/identity.ts'
import { waitFor } from '../helpers/wait.ts'
import { throughDaemon, WAYS } from './ways.ts'

const BITS = 8
const SENDS = 4
let root: string
const children: ChildProcess[] = []
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-outbox-')) })
after(async () => {
  for (const child of children) child.kill('SIGKILL')
  await rm(root, { recursive: true, force: true })
})

/** `ipms init` in a new home; its path and peer-id. */
const initHome = async (name: string, ...args: string[]): Promise<{ home: string, peerId: string }> => {
  const home = join(root, name)
  const run = await ipms(home, ['init', '--json', ...args])
  assert.equal(run.code, 0, run.stderr)
  return { home, peerId: run.json.peerId }
}

/**
 * The host as a process of its own (test/helpers/host-process.ts) keeping `owner`'s inbox, with its
 * deliveries logged to stderr (DEBUG=ipms:deliver: one "stored <envelope CID>" line each).
 */
async function startHost (name: string, owner: string): Promise<{ child: ChildProcess, peerId: string, addr: string, stored: string[], log: Interface }> {
  const seed = randomBytes(32).toString('hex')
  const { peerId } = await identityFromSeed(new Uint8Array(Buffer.from(seed, 'hex')))
  const script = new URL('../helpers/host-process.ts', import.meta.url).pathname
  const child = spawn(process.execPath, [script, join(root, name), seed, '0', owner, String(BITS)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBUG: 'ipms:deliver' } })
  children.push(child)
  const stored: string[] = []
  const log = createInterface({ input: child.stderr! }).on('line', line => {
    const match = /stored (\S+) in /.exec(line)
    if (match !== null) stored.push(match[1]!)
  })
  const signal = AbortSignal.timeout(60_000)
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line.startsWith('READY ')) return { child, peerId, addr: line.slice(6).replace(/\/p2p\/.*$/, ''), stored, log }
    signal.throwIfAborted()
  }
  throw new Error('the host process ended before it was ready')
}

/** The owner grants `host` and gets its card naming it. */
async function grantCard (ownerHome: string, host: { peerId: string, addr: string }): Promise<string> {
  const grant = await ipms(ownerHome, ['hosts', 'grant', host.peerId, '--addr', host.addr, '--json'])
  assert.equal(grant.code, 0, grant.stderr)
  return grant.json.card
}

/** Start `ipms send`; resolves once it has stamped its mail (it is then delivering), with its end. */
async function startSend (home: string, to: string, body: string): Promise<{ ended: Promise<{ code: number | null, stderr: string, ms: number }> }> {
  const started = performance.now()
  const child = spawn(IPMS_BIN, ['--home', home, 'send', to, '--timeout', '5s'], { stdio: ['pipe', 'ignore', 'pipe'] })
  children.push(child)
  child.stdin!.end(body)
  let stderr = ''
  const closed = once(child, 'close')
  const ended = closed.then(([code]) => ({ code: code as number | null, stderr, ms: performance.now() - started }))
  await new Promise<void>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; if (stderr.includes('Sealing and stamping')) resolve() })
    void closed.then(() => { reject(new Error(`ipms send ended before stamping: ${stderr}`)) })
  })
  return { ended }
}

test(`${SENDS} concurrent sends with --timeout 5s to a frozen host each end within their timeout; once it runs again, every mail is delivered exactly once`, async () => {
  const owner = await initHome('owner', '--bits', String(BITS))
  const sender = await initHome('sender')
  const host = await startHost('host', owner.peerId)
  const card = await grantCard(owner.home, host)

  host.child.kill('SIGSTOP') // accepts TCP connections (the kernel does), answers nothing
  try {
    // Each send starts while the previous one is delivering: a send that retried the others' mail
    // (the defect) would find the next one's in flight and wait on it for 30 s.
    const sends = []
    for (let i = 0; i < SENDS; i++) sends.push(await startSend(sender.home, card, `mail ${i}`))
    const results = await Promise.all(sends.map(async s => await s.ended))
    for (const r of results) {
      assert.equal(r.code, EXIT.UNREACHABLE, r.stderr)
      assert.match(r.stderr, /no receipt within 5 s/)
      // 5 s for the host, plus the process's start and stop on a loaded machine; not 30 s more.
      assert.ok(r.ms < 15_000, `a send took ${Math.round(r.ms)} ms`)
    }
  } finally {
    host.child.kill('SIGCONT')
  }
  const waiting = (await ipms(sender.home, ['outbox', '--json'])).json.outbox as Array<{ id: string }>
  assert.equal(waiting.length, SENDS)

  // Two retries at once: each mail is tried by one of them only. A retry that finds a mail in the
  // other's hands leaves it to that one (listed as busy) and exits 0: it failed nothing it tried.
  const retries = await Promise.all([0, 1].map(async () => await ipms(sender.home, ['outbox', 'retry', '--timeout', '20s', '--json'])))
  for (const r of retries) {
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.json.failed, [])
  }
  for (const [i, r] of retries.entries()) {
    for (const id of r.json.busy as string[]) assert.ok((retries[1 - i]!.json.delivered as string[]).includes(id), 'a mail left as busy was the other retry\'s')
  }
  const delivered = retries.flatMap(r => r.json.delivered as string[])
  assert.deepEqual([...delivered].sort(), waiting.map(w => w.id).sort(), 'every mail delivered, none by both retries')
  assert.deepEqual((await ipms(sender.home, ['outbox', '--json'])).json.outbox, [])
  // The host logs a delivery just after its receipt is sent.
  await waitFor([[host.log, 'line']], () => host.stored.length >= SENDS, AbortSignal.timeout(10_000))
  assert.deepEqual([...host.stored].sort(), waiting.map(w => w.id).sort(), 'the host stored each mail once')
})

/** Run a child with its clock (Date.now) `offsetMs` off, through Node's own NODE_OPTIONS: no test hook in ipms. */
const skewedClock = (offsetMs: number): Record<string, string> =>
  ({ NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(`const now = Date.now; Date.now = () => now() + ${offsetMs}`)}` })

test('sent with this machine\'s clock 2 days ahead: exit 76 saying whose clock is off; with the clock right again, ipms outbox retry stamps it again and delivers it', async () => {
  const owner = await initHome('owner-skew', '--bits', String(BITS))
  const sender = await initHome('sender-skew')
  const host = await startHost('host-skew', owner.peerId)
  const card = await grantCard(owner.home, host)
  const sent = await ipms(sender.home, ['send', card, '-s', 'Tomorrow'], { input: 'from the future', env: skewedClock(2 * 24 * 60 * 60_000) })
  assert.equal(sent.code, EXIT.REFUSED, sent.stderr)
  assert.match(sent.stderr, /this machine's clock is 2 days ahead of the host's/)
  const waiting = (await ipms(sender.home, ['outbox', '--json'])).json.outbox as Array<{ id: string, lastError: string }>
  assert.equal(waiting.length, 1)
  assert.match(waiting[0]!.lastError, /ERR_STALE \(this machine's clock is 2 days ahead/)

  const retry = await ipms(sender.home, ['outbox', 'retry', '--json'])
  assert.equal(retry.code, 0, retry.stderr)
  assert.deepEqual(retry.json.delivered, [waiting[0]!.id], JSON.stringify(retry.json))
  assert.deepEqual(retry.json.waiting, [])
  await waitFor([[host.log, 'line']], () => host.stored.length >= 1, AbortSignal.timeout(10_000))
  assert.deepEqual(host.stored, [waiting[0]!.id])
})

/** A TCP port free on 127.0.0.1 right now (a daemon restarted on it keeps the card's address). */
async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

test('a host whose grant expired: the send says so (exit 76) and gives the mail up; ipms outbox lists it given up with why; ipms outbox retry leaves it (exit 0), ipms outbox retry <id> tries it (exit 69), ipms outbox rm removes it (issue #14)', async () => {
  const owner = await initHome('owner-expired', '--bits', String(BITS))
  const sender = await initHome('sender-expired')
  const hostHome = await initHome('host-expired')
  const port = await freePort()
  const granted = await ipms(owner.home, ['hosts', 'grant', hostHome.peerId, '--addr', `/ip4/127.0.0.1/tcp/${port}`, '--expires', '1h', '--json'])
  assert.equal(granted.code, 0, granted.stderr)
  const accepted = await ipms(hostHome.home, ['host', 'accept', granted.json.grant, '--card', granted.json.card])
  assert.equal(accepted.code, 0, accepted.stderr)
  // The host's clock is 2 hours on: the grant, for 1 hour, has expired there.
  let host: Daemon | undefined = await startDaemon(hostHome.home, ['--listen', `/ip4/127.0.0.1/tcp/${port}`], { env: skewedClock(2 * 60 * 60_000) })
  try {
    const sent = await ipms(sender.home, ['send', granted.json.card, '-s', 'Too late'], { input: 'after the grant' })
    assert.equal(sent.code, EXIT.REFUSED, sent.stderr)
    assert.match(sent.stderr, new RegExp(`the grant of ${hostHome.peerId} for ${owner.peerId} expired on \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z`))
    assert.match(sent.stderr, /Given up \(refused for good: the grant of .* expired on .*\): it stays listed by ipms outbox/)

    const listed = await ipms(sender.home, ['outbox'])
    assert.equal(listed.code, 0, listed.stderr)
    assert.match(listed.stdout, /^\w{8}  to 12D3KooW\S+  "Too late"  since \S+  0\/1 receipts, 1 attempt, GIVEN UP \S+: refused for good: the grant of 12D3KooW\w+ for 12D3KooW\w+ expired on /m)
    const [row] = (await ipms(sender.home, ['outbox', '--json'])).json.outbox as Array<{ id: string, gaveUp?: { reason: string } }>
    assert.match(row!.gaveUp?.reason ?? '', /expired on/)

    // Not tried by a plain retry: nothing tried, nothing failed.
    const plain = await ipms(sender.home, ['outbox', 'retry', '--json'])
    assert.equal(plain.code, 0, plain.stderr)
    assert.deepEqual({ ...plain.json, waiting: undefined }, { ok: true, delivered: [], failed: [], gaveUp: [], busy: [], waiting: undefined })
    assert.deepEqual(plain.json.waiting, [])
    assert.equal(host.events.filter(e => e.event === 'hosted-mail').length, 0)

    // By its id: tried again (revived), refused again, given up again: exit 69.
    const again = await ipms(sender.home, ['outbox', 'retry', row!.id.slice(-8)])
    assert.equal(again.code, EXIT.UNREACHABLE, again.stderr)
    assert.match(again.stdout, /^0 delivered, 0 still waiting, 1 given up\.$/m)
    assert.match(again.stderr, /1 of the 1 mail tried not delivered/)
    assert.equal((await ipms(sender.home, ['outbox', '--json'])).json.outbox[0].attempts, 2)

    // The same through the sender's daemon, which says so in an event.
    const senderDaemon = await startDaemon(sender.home, ['--listen', '/ip4/127.0.0.1/tcp/0'])
    try {
      assert.match((await ipms(sender.home, ['outbox'])).stdout, /GIVEN UP \S+: refused for good: the grant of/)
      const viaDaemon = await ipms(sender.home, ['outbox', 'retry', row!.id.slice(-8), '--json'])
      assert.equal(viaDaemon.code, EXIT.UNREACHABLE, viaDaemon.stderr)
      assert.equal(viaDaemon.json.error.code, 'ERR_NO_HOST')
      const event = await senderDaemon.next(e => e.event === 'outbox-gave-up')
      assert.equal(event.id, row!.id)
      assert.equal(event.to, owner.peerId)
      assert.match(event.reason, /^refused for good: the grant of 12D3KooW\w+ for 12D3KooW\w+ expired on /)
    } finally {
      assert.equal(await senderDaemon.stop(), 0)
    }

    const removed = await ipms(sender.home, ['outbox', 'rm', row!.id.slice(-8)])
    assert.equal(removed.code, 0, removed.stderr)
    assert.deepEqual((await ipms(sender.home, ['outbox', '--json'])).json.outbox, [])
    assert.equal((await ipms(sender.home, ['outbox', 'retry'])).code, 0, 'an empty outbox: exit 0')
  } finally {
    await host?.stop()
    host = undefined
  }
})

for (const way of WAYS) {
  test(`a retry delivers by the recipient's current card: sent to a host that is gone, then the contact's card names another, ipms outbox retry delivers there (issue #14) — ${way}`, async () => {
    const tag = way.replace(/\W+/g, '-')
    const owner = await initHome(`owner-moved-${tag}`, '--bits', String(BITS))
    const sender = await initHome(`sender-moved-${tag}`)
    const gone = await initHome(`gone-moved-${tag}`)
    const next = await initHome(`next-moved-${tag}`)
    // The first host's address has nobody behind it: the mail waits in the outbox.
    const old = await ipms(owner.home, ['hosts', 'grant', gone.peerId, '--addr', `/ip4/127.0.0.1/tcp/${await freePort()}`, '--json'])
    assert.equal(old.code, 0, old.stderr)
    assert.equal((await ipms(sender.home, ['contacts', 'add', 'owner', old.json.card])).code, 0)
    const daemons: Daemon[] = []
    try {
      const hostDaemon = await startDaemon(next.home, ['--listen', '/ip4/127.0.0.1/tcp/0'])
      daemons.push(hostDaemon)
      if (throughDaemon(way)) daemons.push(await startDaemon(sender.home, ['--listen', '/ip4/127.0.0.1/tcp/0']))
      const sent = await ipms(sender.home, ['send', 'owner', '-s', 'Moving', '--timeout', '5s'], { input: 'to wherever you are' })
      assert.equal(sent.code, EXIT.UNREACHABLE, sent.stderr)
      const [waiting] = (await ipms(sender.home, ['outbox', '--json'])).json.outbox as Array<{ id: string }>

      // The owner moves: a new host, the old one dropped from the card; the sender gets the new card.
      await grantRunningHost(owner, next, hostDaemon)
      const revoked = await ipms(owner.home, ['hosts', 'revoke', gone.peerId, '--json'])
      assert.equal(revoked.code, 0, revoked.stderr)
      assert.equal((await ipms(sender.home, ['contacts', 'add', 'owner', revoked.json.card])).code, 0)

      const retry = await ipms(sender.home, ['outbox', 'retry', '--timeout', '10s', '--json'])
      assert.equal(retry.code, 0, retry.stderr + JSON.stringify(retry.json))
      assert.deepEqual(retry.json.delivered, [waiting!.id])
      assert.deepEqual((await ipms(sender.home, ['outbox', '--json'])).json.outbox, [])
      await hostDaemon.next(e => e.event === 'hosted-mail' && e.owner === owner.peerId)
    } finally {
      for (const d of daemons.reverse()) await d.stop()
    }
  })
}

test('a mail not delivered within outboxMaxAgeDays (config.json) is given up at the next retry, untried, with why; exit 69 (issue #14)', async () => {
  const owner = await initHome('owner-age', '--bits', String(BITS))
  const sender = await initHome('sender-age')
  const config = join(sender.home, 'config.json')
  await writeFile(config, JSON.stringify({ ...JSON.parse(await readFile(config, 'utf8')), outboxMaxAgeDays: 1 }))
  const granted = await ipms(owner.home, ['hosts', 'grant', (await initHome('dead-age')).peerId, '--addr', `/ip4/127.0.0.1/tcp/${await freePort()}`, '--json'])
  assert.equal(granted.code, 0, granted.stderr)
  const sent = await ipms(sender.home, ['send', granted.json.card, '-s', 'Old news'], { input: 'never arrives' })
  assert.equal(sent.code, EXIT.UNREACHABLE, sent.stderr)
  const within = await ipms(sender.home, ['outbox', 'retry'])
  assert.equal(within.code, EXIT.UNREACHABLE, 'within the bound: tried, not delivered')
  assert.match(within.stdout, /^0 delivered, 1 still waiting\.$/m)

  // Two days later (this process's clock moved on), past the bound of one day.
  const later = await ipms(sender.home, ['outbox', 'retry'], { env: skewedClock(2 * 24 * 60 * 60_000) })
  assert.equal(later.code, EXIT.UNREACHABLE, later.stderr)
  assert.match(later.stdout, /^0 delivered, 0 still waiting, 1 given up\.$/m)
  assert.match(later.stdout, /^\w{8}: given up: not delivered within 1 day \(since \d{4}-\d\d-\d\dT[\d:.]+Z\)$/m)
  const [row] = (await ipms(sender.home, ['outbox', '--json'])).json.outbox
  assert.equal(row.attempts, 2, 'given up without another attempt')
  assert.match(row.gaveUp.reason, /^not delivered within 1 day/)
})
