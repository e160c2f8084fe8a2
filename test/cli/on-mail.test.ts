/**
 * `ipms daemon --on-mail CMD` through the real CLI, in child processes on 127.0.0.1: the hook runs
 * once per new mail with the mail in its environment; a hook that fails is an `error` event, and
 * the daemon goes on storing the next mail.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { grantRunningHost, initHome, ipms, startDaemon } from '../../examples/ipms-cli.ts'

let root: string
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-on-mail-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

test('--on-mail runs once per mail, and a failing hook does not stop the daemon', async () => {
  const [host, alice, bob] = [await initHome(join(root, 'host')), await initHome(join(root, 'alice')), await initHome(join(root, 'bob'), ['--bits', '8'])]
  const hostDaemon = await startDaemon(host.home)
  try {
    const { card } = await grantRunningHost(bob, host, hostDaemon)
    assert.equal((await ipms(alice.home, ['contacts', 'add', 'bob', card])).code, 0)

    const runs = join(root, 'hook-runs')
    // Appends one line per run; the mail whose subject is "fail" makes it exit 1.
    const hook = `printf '%s %s %s %s\\n' "$IPMS_MAIL_ID" "$IPMS_MAIL_FROM" "$IPMS_MAIL_SUBJECT" "$IPMS_HOME" >> '${runs}'; [ "$IPMS_MAIL_SUBJECT" != fail ]`
    const bobDaemon = await startDaemon(bob.home, ['--on-mail', hook])
    const entries: string[] = []
    try {
      for (const subject of ['one', 'fail', 'three']) {
        const sent = await ipms(alice.home, ['send', 'bob', '-s', subject, '--json'], { input: `${subject}\n` })
        assert.equal(sent.code, 0, sent.stderr)
        entries.push(sent.json.receipts[0].entry)
        await bobDaemon.next(e => e.event === 'mail' && e.entry === entries.at(-1))
      }
      const failed = await bobDaemon.next(e => e.event === 'error')
      assert.equal(failed.step, 'running the --on-mail hook')
      assert.match(failed.message, new RegExp(`hook for mail ${entries[1]!.slice(-8)} exited 1`))
    } finally {
      assert.equal(await bobDaemon.stop(), 0, 'a stop lets the hooks of the mail stored run to their end')
    }
    const lines = (await readFile(runs, 'utf8')).trim().split('\n')
    assert.deepEqual(lines, ['one', 'fail', 'three'].map((subject, i) => `${entries[i]!.slice(-8)} ${alice.peerId} ${subject} ${bob.home}`))
    assert.equal(bobDaemon.events.filter(e => e.event === 'mail').length, 3)
    assert.equal(bobDaemon.events.filter(e => e.event === 'error').length, 1)
  } finally {
    assert.equal(await hostDaemon.stop(), 0)
  }
})

test('--on-mail with an empty command is a usage error', async () => {
  const owner = await initHome(join(root, 'empty-hook'))
  const run = await ipms(owner.home, ['daemon', '--on-mail', ' ', '--json'])
  assert.notEqual(run.code, 0)
  assert.equal(run.json.error.code, 'ERR_INVALID_ARGUMENT')
})
