/**
 * `ipms daemon` as users run it, in child processes on 127.0.0.1: an online owner gets new mail
 * pushed from the host at once, stored in the Maildir for mail tools; the host drops it once read;
 * the outbox is retried; SIGTERM stops cleanly with exit 0.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { initHome, ipms, startDaemon } from '../../examples/ipms-cli.ts'
import { EXIT } from '../../src/cli/exit-codes.ts'

let root: string
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-daemon-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

const init = async (name: string, ...args: string[]): Promise<{ home: string, peerId: string }> => await initHome(join(root, name), args)

test('live delivery to an online owner, Maildir output, prune on the host, outbox retry, clean stop', async () => {
  const [host, alice, bob] = [await init('host'), await init('alice'), await init('bob', '--bits', '12')]
  let hostDaemon = await startDaemon(host.home)
  const hostAddr = (hostDaemon.started.addrs[0] as string).replace(/\/p2p\/.*/, '')
  const grant = await ipms(bob.home, ['hosts', 'grant', host.peerId, '--addr', hostAddr, '--json'])
  assert.equal((await ipms(host.home, ['host', 'accept', grant.json.grant, '--card', grant.json.card])).code, 0)
  await hostDaemon.next(e => e.event === 'hosting' && e.owner === bob.peerId)
  assert.equal((await ipms(alice.home, ['contacts', 'add', 'bob', grant.json.card])).code, 0)
  assert.equal((await ipms(bob.home, ['contacts', 'add', 'alice', alice.peerId])).code, 0)

  const bobDaemon = await startDaemon(bob.home)
  try {
    const id = await ipms(bob.home, ['id', '--json'])
    assert.deepEqual(id.json.listening, bobDaemon.started.addrs, 'ipms id shows where the running daemon listens')
    // Bob's daemon has synced with the host: a new mail is pushed to it and stored at once.
    await writeFile(join(root, 'plan.txt'), 'the plan\n')
    const sent = await ipms(alice.home, ['send', 'bob', '-s', 'Live', '-a', join(root, 'plan.txt'), '--json'], { input: 'pushed to you\n' })
    assert.equal(sent.code, 0, sent.stderr)
    const mail = await bobDaemon.next(e => e.event === 'mail' && e.entry === sent.json.receipts[0].entry)
    assert.equal(mail.from, alice.peerId)
    assert.equal(mail.name, 'alice')
    await hostDaemon.next(e => e.event === 'hosted-pruned' && e.owner === bob.peerId)
    const maildir = join(bob.home, 'Maildir', 'new')
    const [file, ...more] = await readdir(maildir)
    assert.equal(more.length, 0)
    assert.match(file!, new RegExp(`^\\d+\\.${mail.entry as string}\\.`))
    const message = await readFile(join(maildir, file!), 'utf8')
    assert.match(message, new RegExp(`^From: alice <${alice.peerId}@ipms>$`, 'm'))
    assert.match(message, /^Subject: Live$/m)
    assert.match(message, new RegExp(`^X-Ipms-Verified: signature of\\s+${alice.peerId}$`, 'm'))
    assert.match(message, /\n\npushed to you\n/)
    assert.match(message, /^Content-Disposition: attachment; filename=plan\.txt$/m)
    assert.equal((await ipms(bob.home, ['list', '--json'])).json.mail[0].subject, 'Live')
    // read: the body, the attachment saved (never over an existing file), the raw message.
    const saveTo = join(root, 'saved')
    const read = await ipms(bob.home, ['read', mail.id, '--save', saveTo, '--json'])
    assert.equal(read.code, 0, read.stderr)
    assert.equal(read.json.mail.body, 'pushed to you\n')
    assert.deepEqual(read.json.mail.attachments, [{ name: 'plan.txt', type: 'text/plain', size: 9 }])
    assert.equal(await readFile(join(saveTo, 'plan.txt'), 'utf8'), 'the plan\n')
    const again = await ipms(bob.home, ['read', '1', '--save', saveTo])
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /^Saved: +.*\/plan-1\.txt$/m, 'a second save never overwrites: it adds a suffix')
    assert.equal(await readFile(join(saveTo, 'plan.txt'), 'utf8'), 'the plan\n')
    const raw = await ipms(bob.home, ['read', '1', '--raw'])
    assert.match(raw.stdout, /^Subject: Live$/m)
    assert.equal((await ipms(bob.home, ['list', '--quarantined', '--json'])).json.quarantined.length, 0)
  } finally {
    assert.equal(await bobDaemon.stop(), 0)
  }
  assert.deepEqual(bobDaemon.events.slice(-2).map(e => e.event), ['stopping', 'stopped'])
  assert.equal((await ipms(bob.home, ['id', '--json'])).json.listening.length, 0, 'the stopped daemon is not shown as listening')

  // The host goes down: the mail waits in Alice's outbox; once it is back, a retry delivers it.
  assert.equal(await hostDaemon.stop(), 0)
  const waiting = await ipms(alice.home, ['send', 'bob', '-s', 'Later'], { input: 'while the host was down\n' })
  assert.equal(waiting.code, EXIT.UNREACHABLE, waiting.stderr)
  hostDaemon = await startDaemon(host.home, ['--listen', hostAddr])
  try {
    const retry = await ipms(alice.home, ['outbox', 'retry', '--json'])
    assert.equal(retry.code, 0, retry.stderr)
    assert.equal(retry.json.delivered.length, 1)
    assert.equal((await ipms(alice.home, ['outbox', '--json'])).json.outbox.length, 0)
  } finally {
    assert.equal(await hostDaemon.stop(), 0)
  }
  const sync = await ipms(bob.home, ['sync', '--json'])
  assert.equal(sync.code, EXIT.UNREACHABLE, 'the host is down again: no replica')
  assert.equal(sync.json.error.code, 'ERR_NO_REPLICA')
})

test('the bookkeeping commands: hosts list and revoke, host list, contacts list and rm, --quiet', async () => {
  const [owner, hostA, hostB] = [await init('owner2'), await init('hostA'), await init('hostB')]
  const grant = await ipms(owner.home, ['hosts', 'grant', hostA.peerId, '--addr', '/ip4/127.0.0.1/tcp/4100', '--expires', '30d', '--json'])
  await ipms(owner.home, ['hosts', 'grant', hostB.peerId, '--addr', '/ip4/127.0.0.1/tcp/4101'])
  const listed = await ipms(owner.home, ['hosts', 'list'])
  assert.match(listed.stdout, new RegExp(`^${hostA.peerId}  /ip4/127.0.0.1/tcp/4100  granted \\S+, expires \\S+$`, 'm'))
  assert.match(listed.stdout, new RegExp(`^${hostB.peerId}  /ip4/127.0.0.1/tcp/4101  granted \\S+$`, 'm'))
  const revoked = await ipms(owner.home, ['hosts', 'revoke', hostB.peerId, '--json'])
  assert.equal(revoked.code, 0, revoked.stderr)
  assert.deepEqual((await ipms(owner.home, ['card', '--json'])).json.hosts.map((h: { peer: string }) => h.peer), [hostA.peerId])
  assert.equal((await ipms(hostA.home, ['host', 'accept', grant.json.grant, '--card', revoked.json.card])).code, 0)
  const kept = await ipms(hostA.home, ['host', 'list', '--json'])
  assert.equal(kept.json.inboxes.length, 1)
  assert.equal(kept.json.inboxes[0].owner, owner.peerId)
  assert.equal(kept.json.inboxes[0].bits, 24)
  assert.match((await ipms(hostB.home, ['host', 'list'])).stdout, /^No inboxes kept here/)
  await ipms(owner.home, ['contacts', 'add', 'a', hostA.peerId])
  await ipms(owner.home, ['contacts', 'add', 'b', hostB.peerId])
  assert.equal((await ipms(owner.home, ['contacts', 'list'])).stdout, `a  ${hostA.peerId}  (no card)\nb  ${hostB.peerId}  (no card)\n`)
  assert.equal((await ipms(owner.home, ['contacts', 'rm', 'a', '--quiet'])).code, 0)
  assert.deepEqual((await ipms(owner.home, ['contacts', 'list', '--json'])).json.contacts.map((c: { name: string }) => c.name), ['b'])
})

test('where a daemon listens: --listen kept in config.json for the next start; a taken port, a malformed or non-TCP --listen exit with the fix', async () => {
  const host = await init('listen-host')
  // A port held by another program for the whole test: the daemon cannot have it.
  const holder = createServer()
  let bitsBefore: unknown
  await new Promise<void>(resolve => holder.listen(0, '127.0.0.1', resolve))
  try {
    const taken = (holder.address() as AddressInfo).port
    const refused = await ipms(host.home, ['daemon', '--listen', `/ip4/127.0.0.1/tcp/${taken}`])
    assert.equal(refused.code, EXIT.OS_LIMIT, refused.stderr)
    assert.match(refused.stderr, new RegExp(`Cannot listen on /ip4/127.0.0.1/tcp/${taken}: the port is taken .*ss -ltnp`))
    assert.doesNotMatch(refused.stderr, /unexpected|at .*\.js:\d+/, 'no stack, no "report it"')
    for (const [listen, why] of [['garbage', /not a multiaddr/], ['/ip4/127.0.0.1/udp/4100', /IPMS listens on TCP/], ['/ip4/127.0.0.1/tcp/70000', /not a multiaddr/], ['/dns4/localhost/tcp/4100/ws', /IPMS listens on TCP/]] as const) {
      const bad = await ipms(host.home, ['daemon', '--listen', listen])
      assert.equal(bad.code, EXIT.USAGE, bad.stderr)
      assert.match(bad.stderr, why)
    }
    const configBefore = JSON.parse(await readFile(join(host.home, 'config.json'), 'utf8'))
    assert.deepEqual(configBefore.listen, ['/ip4/127.0.0.1/tcp/0'], 'refused starts changed nothing')
    bitsBefore = configBefore.bits
  } finally {
    await new Promise(resolve => holder.close(resolve))
  }

  // The first start on a fixed port keeps it; a start without --listen listens there again.
  const first = await startDaemon(host.home, ['--listen', '/ip4/127.0.0.1/tcp/0'])
  const port = Number(/\/tcp\/(\d+)/.exec(first.started.addrs[0])![1])
  assert.equal(await first.stop(), 0)
  const fixed = await startDaemon(host.home, ['--listen', `/ip4/127.0.0.1/tcp/${port}`])
  assert.equal(await fixed.stop(), 0)
  const config = JSON.parse(await readFile(join(host.home, 'config.json'), 'utf8'))
  assert.deepEqual(config.listen, [`/ip4/127.0.0.1/tcp/${port}`])
  assert.equal(config.bits, bitsBefore, 'the rest of the file kept')
  const again = await startDaemon(host.home)
  try {
    assert.ok(again.started.addrs.some((a: string) => a.startsWith(`/ip4/127.0.0.1/tcp/${port}/`)), JSON.stringify(again.started.addrs))
  } finally {
    assert.equal(await again.stop(), 0)
  }
})
