/**
 * The README's notmuch recipe (issue #14: `notmuch config set database.path ~/.ipms` failed on
 * notmuch 0.37 and indexed the home's LevelDB files), run as the README prints it, in a shell,
 * with HOME set so that `~/.ipms` is the test's home. With Debian's notmuch (`.ci/run` installs
 * it): only the Maildir is indexed (received and sent mail), and read state moves both ways between
 * notmuch's `unread` tag and `ipms list`. A machine without notmuch checks the configuration the
 * recipe writes against notmuch's documented keys instead (notmuch-config(1)), with a stand-in
 * `notmuch` that records how it was run.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { initHome, IPMS_BIN, ipms } from '../../examples/ipms-cli.ts'
import { createIdentity } from '../../src/identity/identity.ts'
import { loadIdentity } from '../../src/identity/keystore.ts'
import { openMailStore } from '../../src/mail/mail-store.ts'
import { openMail, sealMail } from '../../src/mail/seal.ts'

const run = promisify(execFile)
let root: string
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-notmuch-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

/** The shell block the README marks as the notmuch recipe. */
async function recipe (): Promise<string> {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
  const block = /<!-- notmuch recipe[^\n]*-->\n```sh\n([\s\S]*?)\n```/.exec(readme)?.[1]
  assert.ok(block !== undefined, 'README.md has the notmuch recipe block')
  return block
}

const hasNotmuch = await run('notmuch', ['--version']).then(() => true, () => false)

test(`README's notmuch recipe: only the Maildir is indexed; unread moves both ways between notmuch and ipms (${hasNotmuch ? 'Debian notmuch' : 'no notmuch here: its configuration checked against notmuch-config(1)'})`, async () => {
  const fakeHome = join(root, 'user')
  const home = join(fakeHome, '.ipms')
  const owner = await initHome(home)
  // Two mails received and one sent, as a sync and a send leave them.
  const [alice, me] = await Promise.all([createIdentity(), loadIdentity(home)])
  const inbox = '/orbitdb/zdpuTest'
  const store = openMailStore(home)
  const received: Array<{ entry: string, id: string }> = []
  for (const [i, subject] of ['first', 'second'].entries()) {
    const { envelope, mail } = await sealMail({ subject, body: `${subject} body` }, { from: alice, to: me.peerId, inbox })
    await store.saveReceived(`zdpuEntry${i}x`, 'bafyEnv', openMail(envelope, { identity: me, inbox }))
    received.push({ entry: `zdpuEntry${i}x`, id: mail.id })
  }
  const sent = await sealMail({ subject: 'mine', body: 'sent body' }, { from: me, to: alice.peerId, inbox })
  await store.saveSent(sent.cid.toString(), sent.mail)
  await store.flush()

  const bin = join(root, 'bin')
  await mkdir(bin, { recursive: true })
  if (!hasNotmuch) {
    // The stand-in records NOTMUCH_CONFIG and its arguments.
    await writeFile(join(bin, 'notmuch'), `#!/bin/sh\nprintf '%s %s\\n' "$NOTMUCH_CONFIG" "$*" >> ${JSON.stringify(join(root, 'notmuch-calls'))}\n`)
    await chmod(join(bin, 'notmuch'), 0o755)
  }
  const env = { ...process.env, HOME: fakeHome, PATH: `${bin}:${dirname(IPMS_BIN)}:${process.env.PATH ?? ''}`, NOTMUCH_CONFIG: join(home, 'notmuch-config') }
  await run('sh', ['-c', `set -e\n${await recipe()}`], { env, timeout: 60_000 })
  const config = await readFile(join(home, 'notmuch-config'), 'utf8')
  // notmuch-config(1): database.path is where the mail is (its index goes in .notmuch there);
  // maildir.synchronize_flags maps the S flag to the unread tag both ways.
  assert.match(config, new RegExp(`^\\[database\\]\\npath=${home.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/Maildir$`, 'm'))
  assert.match(config, /^\[maildir\]\nsynchronize_flags=true$/m)
  assert.match(config, new RegExp(`^primary_email=${owner.peerId}@ipms$`, 'm'))
  if (!hasNotmuch) {
    assert.equal(await readFile(join(root, 'notmuch-calls'), 'utf8'), `${join(home, 'notmuch-config')} new\n`)
    return
  }
  const notmuch = async (...args: string[]): Promise<string> => (await run('notmuch', args, { env })).stdout.trim()
  // Only the Maildir: two received, one sent; nothing of the home's LevelDB or CBOR files.
  assert.equal(await notmuch('count', '*'), '3')
  assert.equal(await notmuch('count', 'tag:unread'), '2')
  assert.equal(await notmuch('count', `id:${sent.mail.id}@ipms`), '1')
  // notmuch → ipms: read in notmuch, read for ipms list.
  await notmuch('tag', '-unread', '--', `id:${received[0]!.id}@ipms`)
  const rows = (await ipms(home, ['list', '--json'])).json.mail as Array<{ entry: string, unread: boolean }>
  assert.deepEqual(rows.map(r => [r.entry, r.unread]).sort(), [[received[0]!.entry, false], [received[1]!.entry, true]])
  // ipms → notmuch: read with ipms, read in notmuch at its next `notmuch new`.
  assert.equal((await ipms(home, ['read', received[1]!.entry])).code, 0)
  await notmuch('new')
  assert.equal(await notmuch('count', 'tag:unread'), '0')
})
