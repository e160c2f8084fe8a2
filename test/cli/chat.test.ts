/**
 * Mail as chat (issue #15), through the binary: when the recipient's own daemon is online, a send
 * through the sender's daemon is delivered to it directly (its receipt is the owner's node's, the
 * mail is stored there at once), with no hop through a host (the hosts still get the entry as
 * replicas of the inbox, and the owner's prune); once the owner is offline, the same send goes to
 * the host, as always.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { grantRunningHost, initHome, ipms, startDaemon, startHostFor, type Daemon } from '../../examples/ipms-cli.ts'

let root: string
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-chat-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

test('both online: delivered to the owner\'s own node, no host hop; owner offline: to the host', { timeout: 240_000 }, async () => {
  const host = await initHome(join(root, 'host'))
  const owner = await initHome(join(root, 'owner'), ['--bits', '8'])
  const alice = await initHome(join(root, 'alice'), ['--bits', '8'])
  const daemons: Daemon[] = []
  try {
    const { hostDaemon, card } = await startHostFor(owner, host)
    daemons.push(hostDaemon)
    await grantRunningHost(alice, host, hostDaemon)
    const ownerDaemon = await startDaemon(owner.home, ['--listen', '/ip4/127.0.0.1/tcp/0'])
    daemons.push(ownerDaemon)
    daemons.push(await startDaemon(alice.home, ['--listen', '/ip4/127.0.0.1/tcp/0']))

    const direct = await ipms(alice.home, ['send', card, '-s', 'lunch?', '--json'], { input: 'Now?\n' })
    assert.equal(direct.code, 0, direct.stderr)
    assert.deepEqual(direct.json.receipts.map((r: { host: string }) => r.host), [owner.peerId], 'the owner\'s own node signed the receipt')
    const stored = await ownerDaemon.next(e => e.event === 'mail', { timeoutMs: 30_000 })
    assert.equal((await ipms(owner.home, ['read', stored.id, '--json'])).json.mail.subject, 'lunch?')

    assert.equal(await ownerDaemon.stop(), 0)
    const later = await ipms(alice.home, ['send', card, '-s', 'later then', '--json'], { input: 'Tonight.\n' })
    assert.equal(later.code, 0, later.stderr)
    assert.deepEqual(later.json.receipts.map((r: { host: string }) => r.host), [host.peerId], 'offline: the host keeps it')
  } finally {
    for (const d of daemons.reverse()) await d.stop()
  }
})
