/**
 * Petnames in any script (issue #14): `Zoë`, `Bob Smith`, `山田`, through the binary, both ways.
 * A name is kept in NFC, so one typed decomposed (`Zoe` + U+0308) is the same contact; a name
 * with a control, format or bidi character, a space at either end, a leading '-', more than 64
 * characters, or the look of an address is refused (exit 64) and changes nothing.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createIdentity } from '../../src/identity/identity.ts'
import { EXIT } from '../../src/cli/exit-codes.ts'
import { initHome, ipms, startDaemon, type Daemon } from '../../examples/ipms-cli.ts'
import { throughDaemon, WAYS } from './ways.ts'

let root: string
let n = 0
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-petnames-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

for (const way of WAYS) {
  test(`names in any script, spaces inside; the same name however it was composed; refusals change nothing — ${way}`, async () => {
    const owner = await initHome(join(root, `owner-${++n}`), ['--bits', '8'])
    const [zoe, bob, yamada] = await Promise.all([createIdentity(), createIdentity(), createIdentity()])
    const daemons: Daemon[] = []
    try {
      if (throughDaemon(way)) daemons.push(await startDaemon(owner.home, ['--listen', '/ip4/127.0.0.1/tcp/0']))
      for (const [name, peer] of [['Zoë', zoe.peerId], ['Bob Smith', bob.peerId], ['山田', yamada.peerId]] as const) {
        const added = await ipms(owner.home, ['contacts', 'add', name, peer, '--json'])
        assert.equal(added.code, 0, added.stderr)
        assert.equal(added.json.contact.name, name)
      }
      // Typed decomposed: the same contact, not a second one.
      const again = await ipms(owner.home, ['contacts', 'add', 'Zoe\u0308', zoe.peerId, '--json'])
      assert.equal(again.code, 0, again.stderr)
      assert.equal(again.json.contact.name, 'Zoë')
      const listed = await ipms(owner.home, ['contacts', 'list', '--json'])
      assert.deepEqual(listed.json.contacts.map((c: { name: string }) => c.name).sort(), ['Bob Smith', 'Zoë', '山田'].sort())
      assert.match((await ipms(owner.home, ['contacts', 'list'])).stdout, /^Bob Smith {2}12D3KooW/m)
      // A name with a space is a recipient like any other (here: known, but no card yet and no DHT peer).
      const send = await ipms(owner.home, ['send', 'Bob Smith', '-s', 'hi'], { input: 'hi\n' })
      assert.equal(send.code, EXIT.NOT_FOUND, send.stderr)
      assert.match(send.stderr, new RegExp(`Cannot look up ${bob.peerId}`))
      // An unknown name with a space: the hint quotes it for the shell.
      const unknown = await ipms(owner.home, ['send', 'Carol Jones'], { input: 'hi\n' })
      assert.equal(unknown.code, EXIT.NOT_FOUND, unknown.stderr)
      assert.match(unknown.stderr, /ipms contacts add 'Carol Jones' CARD/)

      const before = await readFile(join(owner.home, 'contacts.json'), 'utf8')
      for (const bad of [' Bob', 'Bob ', '-bob', 'a\u0007b', 'a\u202eb', 'a\nb', 'x'.repeat(65), '12D3KooWfoo', 'ipmscardfoo', '']) {
        const refused = await ipms(owner.home, ['contacts', 'add', bad, zoe.peerId])
        assert.equal(refused.code, EXIT.USAGE, `${JSON.stringify(bad)}: ${refused.stderr}`)
        assert.match(refused.stderr, /cannot be a contact name|required|Not enough/, JSON.stringify(bad))
        assert.doesNotMatch(refused.stderr, /[\x07\u202e]/, 'the refused name is shown escaped')
      }
      assert.equal(await readFile(join(owner.home, 'contacts.json'), 'utf8'), before)
      assert.equal((await ipms(owner.home, ['contacts', 'rm', 'Zoe\u0308'])).code, 0)
      assert.deepEqual((await ipms(owner.home, ['contacts', 'list', '--json'])).json.contacts.map((c: { name: string }) => c.name).sort(), ['Bob Smith', '山田'].sort())
    } finally {
      for (const d of daemons) assert.equal(await d.stop(), 0)
    }
  })
}
