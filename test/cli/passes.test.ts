/**
 * Contacts' passes through the real `ipms` binary (docs/PROTOCOL.md §11.3): Bob gives Alice a pass
 * (`ipms contacts pass`), Alice keeps it with his contact (`contacts add --pass`); a stranger fills
 * Bob's quota on the host (a small quota in the host's config.json) and is refused, while Alice's
 * `ipms send` still gets a receipt.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { grantRunningHost, initHome, ipms, startDaemon } from '../../examples/ipms-cli.ts'
import { EXIT } from '../../src/cli/exit-codes.ts'

let root: string
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-passes-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

const init = async (name: string, ...args: string[]): Promise<{ home: string, peerId: string }> => await initHome(join(root, name), args)

test('a contact with a pass gets past a quota that a stranger filled; the stranger is refused', async () => {
  const [host, alice, bob, mallory] = [await init('host'), await init('alice'), await init('bob', '--bits', '8'), await init('mallory')]
  // The host keeps one short mail per inbox for strangers, and two per pass.
  const configPath = join(host.home, 'config.json')
  const config = JSON.parse(await readFile(configPath, 'utf8'))
  config.hostPolicy = { ...config.hostPolicy, quotaMiB: 0.002, passQuotaMiB: 0.003 }
  await writeFile(configPath, JSON.stringify(config))
  const hostDaemon = await startDaemon(host.home)
  try {
    const { card } = await grantRunningHost(bob, host, hostDaemon)
    for (const sender of [alice, mallory]) assert.equal((await ipms(sender.home, ['contacts', 'add', 'bob', card])).code, 0)

    // Bob gives Alice a pass; Alice keeps it with his contact (his card stays).
    assert.equal((await ipms(bob.home, ['contacts', 'pass', 'alice'])).code, EXIT.NOT_FOUND, 'a pass goes to a contact')
    assert.equal((await ipms(bob.home, ['contacts', 'add', 'alice', alice.peerId])).code, 0)
    const pass = await ipms(bob.home, ['contacts', 'pass', 'alice', '--expires', '30d', '--json'])
    assert.equal(pass.code, 0, pass.stderr)
    assert.match(pass.json.pass, /^ipmspassz\w+$/)
    assert.equal(pass.json.keep, `ipms contacts add NAME ${bob.peerId} --pass ${String(pass.json.pass)}`)
    assert.match((await ipms(bob.home, ['contacts', 'list'])).stdout, /^alice {2}12D3KooW\w+ {2}\(no card\) {2}\(pass given, until \S+\)$/m)
    assert.equal((await ipms(mallory.home, ['contacts', 'add', 'bob', bob.peerId, '--pass', pass.json.pass.slice(0, -3)])).code, EXIT.BAD_RECORD, 'a damaged pass')
    const kept = await ipms(alice.home, ['contacts', 'add', 'bob', bob.peerId, '--pass', pass.json.pass])
    assert.match(kept.stdout, /^bob is 12D3KooW\w+ \(card with 1 host\), with their pass$/m)

    // Mallory fills the strangers' quota; then she is refused, and Alice is not.
    assert.equal((await ipms(mallory.home, ['send', 'bob'], { input: 'junk 1\n' })).code, 0)
    const refused = await ipms(mallory.home, ['send', 'bob', '--json'], { input: 'junk 2\n' })
    assert.equal(refused.code, EXIT.REFUSED)
    assert.match(refused.json.error.message, /ERR_OVER_QUOTA|quota/)
    for (const body of ['lunch?', 'noon?']) {
      const sent = await ipms(alice.home, ['send', 'bob', '-s', body], { input: `${body}\n` })
      assert.equal(sent.code, 0, sent.stderr + sent.stdout)
      assert.match(sent.stderr, /by their card in your contacts \(1 host\)\. With the pass they gave you\./)
      assert.match(sent.stdout, /^Receipt: 12D3KooW\w+ stored it at/m)
    }
    // Past its share (two mails) and with the strangers' quota full, Alice waits like anyone.
    assert.equal((await ipms(alice.home, ['send', 'bob'], { input: 'third\n' })).code, EXIT.REFUSED)
  } finally {
    await hostDaemon.stop()
  }
})
