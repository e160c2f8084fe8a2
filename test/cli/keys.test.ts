/**
 * Keeping the key (issue #14), through the binary: `ipms passphrase` adds, changes and removes the
 * passphrase; `ipms export` / `ipms import` make and restore a backup of the identity, contacts,
 * hosts and config; on a terminal a mistyped passphrase is asked again, three tries in all.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EXIT } from '../../src/cli/exit-codes.ts'
import { createIdentity } from '../../src/identity/identity.ts'
import { readIdentityInfo } from '../../src/identity/keystore.ts'
import { initHome, ipms, startDaemon } from '../../examples/ipms-cli.ts'
import { onTerminal } from '../helpers/terminal.ts'

let root: string
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-keys-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

/** The environment of a script: the current passphrase, and the new one. */
const env = (current?: string, fresh?: string): { env: Record<string, string> } => ({ env: { IPMS_PASSPHRASE: current ?? '', IPMS_NEW_PASSPHRASE: fresh ?? '' } })

test('passphrase added, changed, removed; export and import carry the key, contacts, hosts and config; every refusal changes nothing', async () => {
  const owner = await initHome(join(root, 'owner'), ['--bits', '9'])
  const [bob, host] = await Promise.all([createIdentity(), createIdentity()])
  assert.equal((await ipms(owner.home, ['contacts', 'add', 'Bob Smith', bob.peerId])).code, 0)
  assert.equal((await ipms(owner.home, ['hosts', 'grant', host.peerId, '--addr', '/ip4/127.0.0.1/tcp/9'])).code, 0)

  const added = await ipms(owner.home, ['passphrase', '--json'], env(undefined, 'one'))
  assert.equal(added.code, 0, added.stderr)
  assert.deepEqual([added.json.encrypted, (await readIdentityInfo(owner.home)).encrypted], [true, true])
  const identityBefore = await readFile(join(owner.home, 'identity.json'), 'utf8')
  const wrong = await ipms(owner.home, ['passphrase'], env('nope', 'two'))
  assert.equal(wrong.code, EXIT.PERMISSION, wrong.stderr)
  assert.equal(await readFile(join(owner.home, 'identity.json'), 'utf8'), identityBefore, 'a wrong passphrase changes nothing')
  assert.equal((await ipms(owner.home, ['passphrase'], env('one', undefined))).code, EXIT.PERMISSION, 'no new passphrase and no terminal to ask')
  const changed = await ipms(owner.home, ['passphrase'], env('one', 'two'))
  assert.equal(changed.code, 0, changed.stderr)
  assert.match(changed.stdout, /^Passphrase changed\.$/m)
  assert.equal((await ipms(owner.home, ['contacts', 'pass', 'Bob Smith', '-q'], env('two'))).code, 0, 'the new passphrase opens the key')

  // Export: a file of its own passphrase, 0600, never over another file.
  const file = join(root, 'backup.json')
  const exported = await ipms(owner.home, ['export', file], env('two', 'backup words'))
  assert.equal(exported.code, 0, exported.stderr)
  assert.equal((await stat(file)).mode & 0o777, 0o600)
  assert.doesNotMatch(await readFile(file, 'utf8'), /Bob Smith|127\.0\.0\.1/, 'contacts and hosts are sealed')
  const again = await ipms(owner.home, ['export', file], env('two', 'backup words'))
  assert.equal(again.code, EXIT.USAGE, again.stderr)
  assert.match(again.stderr, /exists: nothing was replaced/)
  assert.equal((await ipms(owner.home, ['export', join(root, 'b2.json')], env('two'))).code, EXIT.PERMISSION, 'no backup passphrase and no terminal')

  // Import into a new home: the same address, contacts and hosts; the key under the backup's passphrase.
  const copy = join(root, 'copy')
  const refusedWrong = await ipms(copy, ['import', file], env('not it'))
  assert.equal(refusedWrong.code, EXIT.PERMISSION, refusedWrong.stderr)
  const imported = await ipms(copy, ['import', file, '--json'], env('backup words'))
  assert.equal(imported.code, 0, imported.stderr)
  assert.equal(imported.json.peerId, owner.peerId)
  for (const args of [['contacts', 'list', '--json'], ['hosts', 'list', '--json'], ['id', '--json']]) {
    const [a, b] = await Promise.all([ipms(owner.home, args), ipms(copy, args)])
    assert.deepEqual({ ...b.json, home: undefined }, { ...a.json, home: undefined }, args.join(' '))
  }
  assert.equal((await ipms(copy, ['contacts', 'pass', 'Bob Smith', '-q'], env('backup words'))).code, 0)
  // Over an identity: only with --force, and never under a running daemon.
  const over = await ipms(copy, ['import', file], env('backup words'))
  assert.equal(over.code, EXIT.IDENTITY_EXISTS, over.stderr)
  const daemon = await startDaemon(copy, ['--listen', '/ip4/127.0.0.1/tcp/0'], env('backup words'))
  try {
    assert.equal((await ipms(copy, ['import', file, '--force'], env('backup words'))).code, EXIT.HOME_IN_USE)
  } finally {
    assert.equal(await daemon.stop(), 0)
  }
  // A damaged backup: a record that is not one (65), nothing written.
  const damaged = join(root, 'damaged.json')
  await writeFile(damaged, (await readFile(file, 'utf8')).replace('"ipms-backup"', '"ipms-other"'))
  const refused = await ipms(join(root, 'from-damaged'), ['import', damaged], env('backup words'))
  assert.equal(refused.code, EXIT.BAD_RECORD, refused.stderr)
  assert.match(refused.stderr, /is not an IPMS backup: its "type"/)

  const removed = await ipms(owner.home, ['passphrase', '--remove'], env('two'))
  assert.equal(removed.code, 0, removed.stderr)
  assert.match(removed.stderr, /Anyone who can read this home can now use your key/)
  assert.equal((await readIdentityInfo(owner.home)).encrypted, false)
})

test('on a terminal a mistyped passphrase is asked again, three tries in all; the third wrong one exits 77', async () => {
  const owner = await initHome(join(root, 'typist'), ['--passphrase'], env('right'))
  const ok = onTerminal(owner.home, ['passphrase', '--remove'], {})
  for (const [typed, shown] of [['wrong\r', /try again \(2 tries left\)/], ['wrong again\r', /try again \(1 try left\)/], ['right\r', /without a passphrase now/]] as const) {
    await ok.until(/Passphrase for 12D3KooW\w+: $/, 'the passphrase prompt')
    ok.type(typed)
    await ok.until(shown, String(shown))
  }
  assert.equal((await ok.done).code, 0)
  assert.equal((await readIdentityInfo(owner.home)).encrypted, false)

  const locked = await initHome(join(root, 'typist-2'), ['--passphrase'], env('right'))
  const fails = onTerminal(locked.home, ['passphrase', '--remove'], {})
  for (const left of ['2 tries left', '1 try left']) {
    await fails.until(/Passphrase for 12D3KooW\w+: $/, 'the passphrase prompt')
    fails.type('wrong\r')
    await fails.until(left, left)
  }
  fails.type('wrong\r')
  const { code, screen } = await fails.done
  assert.equal(code, EXIT.PERMISSION, screen)
  assert.equal((await readIdentityInfo(locked.home)).encrypted, true)
})
