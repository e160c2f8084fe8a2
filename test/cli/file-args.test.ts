/**
 * Paths a user names (issue #14), through the binary: a directory given where a file is expected,
 * a missing file, a file where a directory is expected: each a clear message and exit 64 (66 for
 * a missing kubo config), never a raw ENOENT/EISDIR "unexpected: report it". A kubo repository
 * directory (`--import-kubo ~/.ipfs`) is read as kubo keeps it: its `config` file.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EXIT } from '../../src/cli/exit-codes.ts'
import { createIdentity } from '../../src/identity/identity.ts'
import { loadIdentity } from '../../src/identity/keystore.ts'
import { openMailStore } from '../../src/mail/mail-store.ts'
import { openMail, sealMail } from '../../src/mail/seal.ts'
import { initHome, ipms, type CliRun } from '../../examples/ipms-cli.ts'

let root: string
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-file-args-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

const refused = (run: CliRun, code: number, why: RegExp): void => {
  assert.equal(run.code, code, run.stderr)
  assert.match(run.stderr, why)
  assert.doesNotMatch(run.stderr, /unexpected|E[A-Z]{4,}:|\n\s+at /, 'no raw errno, no stack')
}

test('init --import-kubo takes a kubo repository directory (its config file) or the file; an empty directory or a missing path is said plainly', async () => {
  const repo = join(root, 'kubo-repo')
  await mkdir(repo)
  const vector = new URL('../vectors/identity/kubo-config.json', import.meta.url)
  await copyFile(vector, join(repo, 'config'))
  const fromDir = await ipms(join(root, 'from-dir'), ['init', '--import-kubo', repo, '--json'])
  assert.equal(fromDir.code, 0, fromDir.stderr)
  assert.equal(fromDir.json.peerId, '12D3KooWLeJMZSkkTdLm2eDCMBFkVvUPGcNeVdgyTPgvMZtZ4jxU')
  const empty = join(root, 'empty-repo')
  await mkdir(empty)
  refused(await ipms(join(root, 'from-empty'), ['init', '--import-kubo', empty]), EXIT.NO_IDENTITY, new RegExp(`No kubo config at ${empty}/config`))
  refused(await ipms(join(root, 'from-missing'), ['init', '--import-kubo', join(root, 'nope')]), EXIT.NO_IDENTITY, /No kubo config at/)
})

test('send: a directory or a missing file as the message or an attachment is refused before anything is stamped; read --save into a file is refused', async () => {
  const owner = await initHome(join(root, 'owner'), ['--bits', '8'])
  const host = await createIdentity()
  const granted = await ipms(owner.home, ['hosts', 'grant', host.peerId, '--addr', '/ip4/127.0.0.1/tcp/9', '--json'])
  assert.equal(granted.code, 0, granted.stderr)
  const card = String(granted.json.card)
  const dir = join(root, 'photos')
  await mkdir(dir)
  refused(await ipms(owner.home, ['send', card, '-a', dir], { input: 'hi\n' }), EXIT.USAGE, new RegExp(`Cannot read the attachment ${dir}: it is a directory: attach its files one by one`))
  refused(await ipms(owner.home, ['send', card, '-a', join(dir, 'nope.jpg')], { input: 'hi\n' }), EXIT.USAGE, /Cannot read the attachment .*nope\.jpg: there is no such file/)
  refused(await ipms(owner.home, ['send', card, dir]), EXIT.USAGE, new RegExp(`Cannot read the message file ${dir}: it is a directory, not a file`))
  refused(await ipms(owner.home, ['send', card, join(dir, 'nope.txt')]), EXIT.USAGE, /Cannot read the message file .*nope\.txt: there is no such file/)
  assert.equal((await ipms(owner.home, ['outbox', '--json'])).json.outbox.length, 0, 'nothing was stamped or kept')

  // A mail with an attachment, kept here; --save names a file, or a path through a file.
  const me = await loadIdentity(owner.home)
  const inbox = '/orbitdb/zdpuTest'
  const { envelope } = await sealMail({ subject: 'plan', body: 'see attached\n', attachments: [{ name: 'plan.txt', type: 'text/plain', data: new TextEncoder().encode('a plan') }] }, { from: me, to: me.peerId, inbox })
  await openMailStore(owner.home).saveReceived('zdpuEntryFileArgs1', 'bafyEnvFileArgs', openMail(envelope, { identity: me, inbox }))
  const aFile = join(root, 'a-file')
  await writeFile(aFile, 'x')
  refused(await ipms(owner.home, ['read', '1', '--save', aFile]), EXIT.USAGE, new RegExp(`Cannot save into ${aFile}: it, or a part of its path, is a file, not a directory`))
  refused(await ipms(owner.home, ['read', '1', '--save', join(aFile, 'sub')]), EXIT.USAGE, /is a file, not a directory/)
  const saved = await ipms(owner.home, ['read', '1', '--save', join(root, 'saved')])
  assert.equal(saved.code, 0, saved.stderr)
})
