/**
 * A damaged contacts.json (issue #14) never stops mail: through the real binary, both ways
 * (test/cli/ways.ts), with the file damaged before the mail arrives, the mail is still stored
 * (by `ipms sync`, or live by the daemon), listed with the sender's peer-id and a note saying why,
 * and read; `ipms contacts list` says what is wrong (exit 78).
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initHome, ipms, startDaemon, startHostFor, type Daemon } from '../../examples/ipms-cli.ts'
import { EXIT } from '../../src/cli/exit-codes.ts'
import { throughDaemon, WAYS } from './ways.ts'

let root: string
let n = 0
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-damaged-contacts-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

for (const way of WAYS) {
  test(`a damaged contacts.json: mail is still stored, listed (peer-ids, with a note) and read; contacts list exits 78 — ${way}`, async () => {
    const host = await initHome(join(root, `host-${++n}`))
    const owner = await initHome(join(root, `owner-${n}`), ['--bits', '8'])
    const daemons: Daemon[] = []
    try {
      const { hostDaemon, card } = await startHostFor(owner, host)
      daemons.push(hostDaemon)
      await writeFile(join(owner.home, 'contacts.json'), '{"v": 1, "contacts": {')
      if (throughDaemon(way)) daemons.push(await startDaemon(owner.home, ['--listen', '/ip4/127.0.0.1/tcp/0']))
      const sent = await ipms(owner.home, ['send', card, '-s', 'still here'], { input: 'hello\n' })
      assert.equal(sent.code, 0, sent.stderr)
      if (throughDaemon(way)) await daemons[1]!.next(e => e.event === 'mail')
      else assert.equal((await ipms(owner.home, ['sync'])).code, 0)
      const listed = await ipms(owner.home, ['list'])
      assert.equal(listed.code, 0, listed.stderr)
      assert.match(listed.stdout, /still here$/m)
      assert.match(listed.stderr, /Senders are shown by peer-id: .*contacts\.json is not valid JSON/)
      const read = await ipms(owner.home, ['read', '1', '--json'])
      assert.equal(read.code, 0, read.stderr)
      assert.equal(read.json.mail.body, 'hello\n')
      const contacts = await ipms(owner.home, ['contacts', 'list'])
      assert.equal(contacts.code, EXIT.CONFIG, contacts.stderr)
    } finally {
      for (const d of daemons) assert.equal(await d.stop(), 0)
    }
  })
}
