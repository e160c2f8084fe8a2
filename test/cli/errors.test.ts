/**
 * Every failure of the `ipms` binary is one clear line and its own exit code (README, "Exit
 * codes"); --json gives the same as a document; the stack only with --verbose; Ctrl-C leaves
 * nothing half-done (a mail interrupted once stamped waits in the outbox). Real child processes,
 * real nodes on 127.0.0.1. Those that can run twice do (test/cli/ways.ts): without a
 * daemon, and with one holding the home.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IPMS_BIN, ipms, startDaemon, type Daemon } from '../../examples/ipms-cli.ts'
import { EXIT } from '../../src/cli/exit-codes.ts'
import { throughDaemon, WAYS, type Way } from './ways.ts'

let root: string
let n = 0
const home = (): string => join(root, `home-${++n}`)
/** A new home with an identity; returns its path and peer-id. */
const initHome = async (...args: string[]): Promise<{ home: string, peerId: string }> => {
  const h = home()
  const run = await ipms(h, ['init', '--json', ...args])
  assert.equal(run.code, 0, run.stderr)
  return { home: h, peerId: run.json.peerId }
}
/** Bob with a card listing one host at `addr` (nothing need run there). */
const ownerWithHost = async (hostPeer: string, addr: string, bits = 8): Promise<{ home: string, peerId: string, card: string }> => {
  const owner = await initHome('--bits', String(bits))
  const grant = await ipms(owner.home, ['hosts', 'grant', hostPeer, '--addr', addr, '--json'])
  assert.equal(grant.code, 0, grant.stderr)
  return { ...owner, card: grant.json.card }
}

before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-errors-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

/**
 * Run `body` with a daemon on each of `homes` when `way` says so (started with `env`), stopping
 * them after; `stop()` stops them early (to run what needs the home free).
 */
async function withDaemons (way: Way, homes: string[], body: (stop: () => Promise<void>) => Promise<void>, env?: Record<string, string>): Promise<void> {
  const daemons: Daemon[] = []
  const stop = async (): Promise<void> => { for (const d of daemons.splice(0)) assert.equal(await d.stop(), 0) }
  try {
    if (throughDaemon(way)) for (const h of homes) daemons.push(await startDaemon(h, ['--listen', '/ip4/127.0.0.1/tcp/0'], { env }))
    await body(stop)
  } finally {
    await stop()
  }
}

const expectExit = (run: { code: number, stderr: string, stdout: string }, code: number, message: RegExp): void => {
  assert.equal(run.code, code, `exit ${run.code}: ${run.stderr}${run.stdout}`)
  // Notes may come first (what is being done); the failure itself is one line, the last.
  const lines = run.stderr.trim().split('\n')
  assert.match(lines.at(-1)!, message)
  assert.equal(lines.filter(l => l.startsWith('ipms: ')).length, 1, `one failure line: ${run.stderr}`)
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace without --verbose')
}

test('no identity yet: exit 66 and says to run ipms init; --json says the same as a document; --verbose adds the stack; a mistyped --home is said for every command', async () => {
  const h = home()
  // No such directory (a mistyped --home): said as such, by list and read too (not "no mail yet").
  for (const args of [['id'], ['list'], ['read', '1'], ['contacts', 'list'], ['outbox']]) {
    expectExit(await ipms(h, args), EXIT.NO_IDENTITY, /^ipms: No IPMS home at .* \(--home\): check the path, or create one with `ipms init`/)
  }
  await mkdir(h)
  expectExit(await ipms(h, ['id']), EXIT.NO_IDENTITY, /^ipms: No IPMS identity at .*create one with `ipms init`/)
  const json = await ipms(h, ['id', '--json'])
  assert.equal(json.code, EXIT.NO_IDENTITY)
  assert.deepEqual({ ...json.json, error: { ...json.json.error, message: undefined } }, { ok: false, error: { code: 'ERR_IDENTITY_NOT_FOUND', exit: EXIT.NO_IDENTITY, message: undefined } })
  const verbose = await ipms(h, ['id', '--verbose'])
  assert.equal(verbose.code, EXIT.NO_IDENTITY)
  assert.match(verbose.stderr, /\n\s+at /)
})

for (const way of WAYS) {
test(`bad command lines: exit 64 with what to fix — ${way}`, async () => {
  const owner = await initHome()
  await withDaemons(way, [owner.home], async () => {
  const h = owner.home
  expectExit(await ipms(h, []), EXIT.USAGE, /Name a command/)
  expectExit(await ipms(h, ['bogus']), EXIT.USAGE, /ipms: /)
  expectExit(await ipms(h, ['send']), EXIT.USAGE, /Not enough non-option arguments/)
  expectExit(await ipms(h, ['init', '--bits', '99']), EXIT.USAGE, /--bits must be a whole number from 0 to 40/)
  expectExit(await ipms(h, ['init', '--no-such-flag']), EXIT.USAGE, /Unknown argument/)
  expectExit(await ipms(h, ['send', 'bob', '--replicas', '0'], { input: 'hi' }), EXIT.USAGE, /--replicas must be a whole number/)
  expectExit(await ipms(owner.home, ['hosts', 'grant', 'notapeer', '--addr', '/ip4/127.0.0.1/tcp/1']), EXIT.USAGE, /peer-id/i)
  const other = await initHome()
  expectExit(await ipms(owner.home, ['hosts', 'grant', other.peerId, '--addr', 'garbage']), EXIT.USAGE, /"garbage" is not a multiaddr/)
  expectExit(await ipms(owner.home, ['hosts', 'grant', other.peerId, '--addr', '/ip4/127.0.0.1/tcp/1', '--expires', 'soon']), EXIT.USAGE, /--expires soon is not a duration/)
  expectExit(await ipms(owner.home, ['send', 'bob', '/no/such/file']), EXIT.NOT_FOUND, /"bob" is not a contact/)
  await ipms(owner.home, ['contacts', 'add', 'self', (await ipms(owner.home, ['card', '--json'])).json.card])
  expectExit(await ipms(owner.home, ['send', 'self', '/no/such/file']), EXIT.USAGE, /Cannot read the message file \/no\/such\/file: there is no such file/)
  expectExit(await ipms(owner.home, ['contacts', 'add', '12D3KooWfoo', other.peerId]), EXIT.USAGE, /cannot be a contact name/)
  assert.equal((await ipms(owner.home, ['contacts', 'add', 'x', other.peerId])).code, EXIT.OK)
  const taken = await ipms(owner.home, ['contacts', 'add', 'x', owner.peerId])
  expectExit(taken, EXIT.USAGE, /already 12D3KooW\w+: choose another name, or replace it with --force/)
  })
})
}

for (const way of WAYS) {
test(`init twice: exit 73; --force replaces the identity (and drops the grants the old key signed), never under a running daemon (75) — ${way}`, async () => {
  const owner = await ownerWithHost((await initHome()).peerId, '/ip4/127.0.0.1/tcp/1')
  await withDaemons(way, [owner.home], async (stop) => {
    expectExit(await ipms(owner.home, ['init']), EXIT.IDENTITY_EXISTS, /already/)
    if (!throughDaemon(way)) return
    expectExit(await ipms(owner.home, ['init', '--force']), EXIT.HOME_IN_USE, /in use/)
    assert.equal((await ipms(owner.home, ['id', '--json'])).json.peerId, owner.peerId, 'the daemon\'s key was not replaced')
    await stop()
  })
  const again = await ipms(owner.home, ['init', '--force', '--json'])
  assert.equal(again.code, 0, again.stderr)
  assert.notEqual(again.json.peerId, owner.peerId)
  assert.equal((await ipms(owner.home, ['hosts', 'list', '--json'])).json.hosts.length, 0)
})
}

for (const way of WAYS) {
test(`an encrypted identity: id needs no passphrase; signing here without one is exit 77, a wrong one exit 77, the right one works; what the daemon signs needs none — ${way}`, async () => {
  const h = home()
  const made = await ipms(h, ['init', '--passphrase', '--json'], { env: { IPMS_PASSPHRASE: 'correct horse' } })
  assert.equal(made.code, 0, made.stderr)
  assert.equal(made.json.encrypted, true)
  const host = await initHome()
  // The daemon was given the passphrase when it started; a client asking it to sign (card) needs none.
  await withDaemons(way, [h], async () => {
    const id = await ipms(h, ['id', '--json'], { env: { IPMS_PASSPHRASE: '' } })
    assert.equal(id.json.peerId, made.json.peerId)
    const card = await ipms(h, ['card'], { env: { IPMS_PASSPHRASE: '' } })
    if (throughDaemon(way)) assert.equal(card.code, 0, card.stderr)
    else expectExit(card, EXIT.PERMISSION, /set IPMS_PASSPHRASE/)
    // A grant is signed by the daemon when one runs (no passphrase), else by the command itself.
    const grant = (env: Record<string, string>): Promise<{ code: number, stdout: string, stderr: string }> => ipms(h, ['hosts', 'grant', host.peerId, '--addr', '/ip4/127.0.0.1/tcp/1'], { env })
    if (throughDaemon(way)) {
      assert.equal((await grant({ IPMS_PASSPHRASE: '' })).code, 0)
    } else {
      expectExit(await grant({ IPMS_PASSPHRASE: '' }), EXIT.PERMISSION, /set IPMS_PASSPHRASE/)
      expectExit(await grant({ IPMS_PASSPHRASE: 'wrong' }), EXIT.PERMISSION, /passphrase/i)
    }
    assert.equal((await grant({ IPMS_PASSPHRASE: 'correct horse' })).code, 0)
    assert.equal((await ipms(h, ['card'], { env: { IPMS_PASSPHRASE: 'correct horse' } })).code, 0)
  }, { IPMS_PASSPHRASE: 'correct horse' })
})
}

test('ipms daemon on an encrypted identity without the passphrase, or a wrong one: exit 77, the same line as a command signing here', async () => {
  const h = home()
  assert.equal((await ipms(h, ['init', '--passphrase'], { env: { IPMS_PASSPHRASE: 'correct horse' } })).code, 0)
  expectExit(await ipms(h, ['daemon'], { env: { IPMS_PASSPHRASE: '' } }), EXIT.PERMISSION, /set IPMS_PASSPHRASE/)
  expectExit(await ipms(h, ['daemon'], { env: { IPMS_PASSPHRASE: 'wrong' } }), EXIT.PERMISSION, /passphrase/i)
})

for (const way of WAYS) {
test(`a key file others can read: exit 77; a damaged config: exit 78 (the daemon does not start); both say how to fix it — ${way}`, async () => {
  // Through a daemon: it is the daemon that meets the damage, at its start, and says the same.
  const command = (args: string[]): string[] => throughDaemon(way) ? ['daemon', '--listen', '/ip4/127.0.0.1/tcp/0'] : args
  const owner = await initHome()
  await chmod(join(owner.home, 'identity.json'), 0o644)
  expectExit(await ipms(owner.home, command(['card'])), EXIT.PERMISSION, /chmod 600|readable/)
  const other = await initHome()
  await writeFile(join(other.home, 'config.json'), '{"bits": 8,')
  expectExit(await ipms(other.home, command(['id'])), EXIT.CONFIG, /config\.json is not valid JSON .*fix it, or delete it/)
  await writeFile(join(other.home, 'config.json'), '{"bitz": 8}')
  expectExit(await ipms(other.home, command(['id'])), EXIT.CONFIG, /unknown field "bitz"/)
})
}

for (const way of WAYS) {
test(`a config damaged while the home is in use: init --force exits 78 and replaces nothing; a running daemon keeps the config it started with — ${way}`, async () => {
  const owner = await initHome()
  await withDaemons(way, [owner.home], async () => {
    await writeFile(join(owner.home, 'config.json'), '{"bits": 8,')
    expectExit(await ipms(owner.home, ['init', '--force']), EXIT.CONFIG, /config\.json is not valid JSON .*fix it, or delete it/)
    const id = await ipms(owner.home, ['id', '--json'])
    if (throughDaemon(way)) assert.equal(id.json.peerId, owner.peerId, id.stderr)
    else assert.equal(id.json.error.code, 'ERR_CONFIG', id.stdout)
    expectExit(await ipms(owner.home, ['id', '--offline']), EXIT.CONFIG, /config\.json is not valid JSON/)
  })
  await writeFile(join(owner.home, 'config.json'), '{}')
  assert.equal((await ipms(owner.home, ['id', '--json'])).json.peerId, owner.peerId, 'the identity was not replaced')
})
}

test('not found: exit 67 (a mail, a contact, a host); damaged records: exit 65', async () => {
  const owner = await initHome()
  const other = await initHome()
  expectExit(await ipms(owner.home, ['read', 'zzzzzzzz']), EXIT.NOT_FOUND, /No mail zzzzzzzz here/)
  expectExit(await ipms(owner.home, ['contacts', 'rm', 'nobody']), EXIT.NOT_FOUND, /no contact named "nobody"/)
  expectExit(await ipms(owner.home, ['hosts', 'revoke', other.peerId]), EXIT.NOT_FOUND, /is not one of your hosts/)
  expectExit(await ipms(owner.home, ['contacts', 'add', 'x', 'ipmscardGARBAGE']), EXIT.BAD_RECORD, /address card/)
  expectExit(await ipms(owner.home, ['host', 'accept', 'ipmsgrantGARBAGE']), EXIT.BAD_RECORD, /grant/)
  // A grant for another host.
  const third = await initHome()
  const grant = await ipms(owner.home, ['hosts', 'grant', other.peerId, '--addr', '/ip4/127.0.0.1/tcp/1', '--json'])
  expectExit(await ipms(third.home, ['host', 'accept', grant.json.grant]), EXIT.BAD_RECORD, /grant/)
})

test('unknown recipient: a name nobody added, or a peer-id with no card and no DHT peer to ask: exit 67', async () => {
  const sender = await initHome()
  const other = await initHome()
  expectExit(await ipms(sender.home, ['send', 'carol'], { input: 'hi' }), EXIT.NOT_FOUND, /"carol" is not a contact.*ipms contacts add carol CARD/)
  expectExit(await ipms(sender.home, ['send', other.peerId], { input: 'hi' }), EXIT.NOT_FOUND, /Cannot look up 12D3KooW\w+: no DHT peer to ask\. Configure "bootstrap"/)
})

test('no host reachable: exit 69, the mail waits in the outbox and says why; a host without the grant refuses: exit 76', async () => {
  const sender = await initHome()
  const deadHost = await initHome()
  const owner = await ownerWithHost(deadHost.peerId, '/ip4/127.0.0.1/tcp/9')
  const sent = await ipms(sender.home, ['send', owner.card, '-s', 'hello'], { input: 'are you there?' })
  expectExit(sent, EXIT.UNREACHABLE, /Not delivered yet \(0 of 1 receipt\).*waits in the outbox/)
  const outbox = await ipms(sender.home, ['outbox', '--json'])
  assert.equal(outbox.json.outbox.length, 1)
  assert.equal(outbox.json.outbox[0].to, owner.peerId)
  assert.match(outbox.json.outbox[0].lastError, /ERR_DELIVERY/)
  // A running host that never accepted the owner's grant.
  const host = await initHome()
  const daemon = await startDaemon(host.home)
  try {
    const stranger = await ownerWithHost(host.peerId, daemon.started.addrs[0].replace(/\/p2p\/.*/, ''))
    const refused = await ipms(sender.home, ['send', stranger.card], { input: 'hello?' })
    assert.equal(refused.code, EXIT.REFUSED, refused.stderr)
    assert.match(refused.stderr, /does not keep that inbox/)
    assert.equal((await ipms(sender.home, ['outbox', '--json'])).json.outbox.length, 2)
    // The home is in use while its daemon runs: a sync goes through the daemon, unless --offline.
    assert.equal((await ipms(host.home, ['sync'])).code, EXIT.OK)
    expectExit(await ipms(host.home, ['sync', '--offline']), EXIT.HOME_IN_USE, /in use|another/i)
  } finally {
    assert.equal(await daemon.stop(), 0)
  }
})

for (const way of WAYS) {
test(`Ctrl-C while the proof-of-work is solved: exit 130, nothing sent, nothing left half-done (the daemon drops the send it was doing) — ${way}`, async () => {
  const sender = await initHome()
  const owner = await ownerWithHost((await initHome()).peerId, '/ip4/127.0.0.1/tcp/9', 36)
  await withDaemons(way, [sender.home], async () => {
  const child = spawn(IPMS_BIN, ['--home', sender.home, 'send', owner.card], { stdio: ['pipe', 'pipe', 'pipe'] })
  child.stdin.end('a mail that is never stamped')
  let stderr = ''
  const stamping = new Promise<void>(resolve => {
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; if (stderr.includes('Sealing and stamping')) resolve() })
  })
  await stamping
  child.kill('SIGINT')
  const [code] = await once(child, 'close')
  assert.equal(code, EXIT.INTERRUPTED, stderr)
  assert.match(stderr, /ipms: .*(Interrupted|aborted)/i)
  if (!throughDaemon(way)) assert.deepEqual(await readdir(sender.home).then(names => names.filter(name => name === 'outbox')), [])
  const outbox = await ipms(sender.home, ['outbox', '--json'])
  assert.equal(outbox.code, 0, outbox.stderr)
  assert.deepEqual(outbox.json.outbox, [], 'nothing waits in the outbox')
  })
})
}

for (const way of WAYS) {
test(`Ctrl-C while the mail is delivered: exit 130, the stamped mail waits in the outbox (the daemon's, when through it) — ${way}`, async () => {
  // A "host" that accepts the connection and never answers: the delivery hangs there.
  const sockets = new Set<Socket>()
  const silent = createServer(socket => { sockets.add(socket) })
  silent.listen(0, '127.0.0.1')
  await once(silent, 'listening')
  const dialled = once(silent, 'connection')
  try {
    const sender = await initHome()
    const owner = await ownerWithHost((await initHome()).peerId, `/ip4/127.0.0.1/tcp/${(silent.address() as AddressInfo).port}`)
    await withDaemons(way, [sender.home], async () => {
      const child = spawn(IPMS_BIN, ['--home', sender.home, 'send', owner.card, '-s', 'stamped'], { stdio: ['pipe', 'pipe', 'pipe'] })
      child.stdin.end('a mail stamped, then interrupted on its way')
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
      const closed = once(child, 'close')
      await Promise.race([dialled, closed.then(() => { throw new Error(`ipms send ended before it delivered: ${stderr}`) })])
      child.kill('SIGINT')
      const [code] = await closed
      assert.equal(code, EXIT.INTERRUPTED, stderr)
      const outbox = await ipms(sender.home, ['outbox', '--json'])
      assert.equal(outbox.code, 0, outbox.stderr)
      assert.deepEqual(outbox.json.outbox.map((m: any) => m.to), [owner.peerId], 'it waits in the outbox, to be retried')
    })
  } finally {
    for (const socket of sockets) socket.destroy()
    silent.close()
  }
})
}
