/**
 * A host as its operator runs it, in child processes on 127.0.0.1: `ipms host list` shows per kept
 * inbox the pending mail, bytes held, newest mail and the grant's expiry, an expired grant marked
 * plainly, through a running daemon and without one (each inbox opened in turn to be counted); a
 * daemon out of file descriptors says so (exit 71) and never reports `started`.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initHome, ipms, startDaemon } from '../../examples/ipms-cli.ts'
import { EXIT } from '../../src/cli/exit-codes.ts'
import { createGrant, encodeGrant } from '../../src/hosting/grant.ts'
import { createIdentity } from '../../src/identity/identity.ts'
import { keepGrant } from '../../src/node/hosting.ts'

let root: string
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-host-list-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

interface Row { owner: string, pending: number, bytes: number, lastMail?: number, expires?: number, expired: boolean }

test('host list: pending mail, bytes, newest mail and grant expiry per inbox, an expired grant marked; with and without a daemon', async () => {
  const [host, alice, bob] = [await initHome(join(root, 'host')), await initHome(join(root, 'alice')), await initHome(join(root, 'bob'), ['--bits', '8'])]
  // Carol's grant expired a while ago (kept as it was accepted then).
  const carol = await createIdentity()
  const issued = Date.now() - 60_000
  await keepGrant(host.home, host.peerId, encodeGrant(createGrant(carol, host.peerId, { now: issued, ttlMs: 1_000 })), { bits: 8, now: issued + 1 })
  const daemon = await startDaemon(host.home)
  try {
    const hostAddr = (daemon.started.addrs[0] as string).replace(/\/p2p\/.*/, '')
    const grant = await ipms(bob.home, ['hosts', 'grant', host.peerId, '--addr', hostAddr, '--expires', '30d', '--json'])
    assert.equal((await ipms(host.home, ['host', 'accept', grant.json.grant, '--card', grant.json.card])).code, 0)
    await daemon.next(e => e.event === 'hosting' && e.owner === bob.peerId)
    assert.equal((await ipms(alice.home, ['contacts', 'add', 'bob', grant.json.card])).code, 0)
    const before = Date.now()
    const sent = await ipms(alice.home, ['send', 'bob', '-s', 'kept'], { input: 'for the host to hold\n' })
    assert.equal(sent.code, 0, sent.stderr)

    const listed = await ipms(host.home, ['host', 'list', '--json'])
    assert.equal(listed.code, 0, listed.stderr)
    const rows = listed.json.inboxes as Row[]
    const bobRow = rows.find(r => r.owner === bob.peerId)
    assert.ok(bobRow)
    assert.equal(bobRow.pending, 1)
    assert.ok(bobRow.bytes > 0, 'the envelope\'s bytes are counted')
    assert.ok(bobRow.lastMail !== undefined && bobRow.lastMail >= before - 1000)
    assert.equal(bobRow.expired, false)
    assert.ok(bobRow.expires !== undefined && bobRow.expires > Date.now())
    const carolRow = rows.find(r => r.owner === carol.peerId)
    assert.ok(carolRow)
    assert.equal(carolRow.expired, true)
    assert.equal(carolRow.pending, 0)
    const human = (await ipms(host.home, ['host', 'list'])).stdout
    assert.match(human, new RegExp(`^${bob.peerId}  8 bits  1 mail pending, \\d+(\\.\\d)? (B|KiB), newest \\S+  granted \\S+, until \\S+$`, 'm'))
    assert.match(human, new RegExp(`^${carol.peerId}  8 bits  0 mails pending, 0 B  GRANT EXPIRED on \\S+: not served`, 'm'))
  } finally {
    assert.equal(await daemon.stop(), 0)
  }

  // Without a daemon: the same figures, the home's node started for the count.
  const here = await ipms(host.home, ['host', 'list', '--json'])
  assert.equal(here.code, 0, here.stderr)
  assert.deepEqual((here.json.inboxes as Row[]).map(r => [r.owner, r.pending, r.expired]).sort(), [[bob.peerId, 1, false], [carol.peerId, 0, true]].sort())
})

test('a daemon out of file descriptors at start says so (exit 71, ERR_TOO_MANY_FILES) and never reports started', async () => {
  const host = await initHome(join(root, 'few-fds'))
  // Enough for Node to run, not for the node's stores to open.
  const run = await ipms(host.home, ['daemon', '--json'], { wrap: ['prlimit', '--nofile=40:40'], timeoutMs: 60_000 })
  assert.equal(run.code, EXIT.OS_LIMIT, run.stdout + run.stderr)
  assert.doesNotMatch(run.stdout, /"started"/)
  const error = JSON.parse(run.stdout.trim().split('\n').at(-1)!).error
  assert.equal(error.code, 'ERR_TOO_MANY_FILES')
  assert.match(error.message, /^Too many open files while starting the node .* raise `ulimit -n`/)
})
