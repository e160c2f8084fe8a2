/**
 * The commands that change a home, through the real binary, run both ways (test/cli/ways.ts):
 * `contacts add|rm|pass`, `hosts grant|revoke`, `host accept` and `rm` print the same and exit
 * the same whether they work on the home's files or go through the daemon holding the home
 * (issue #12: every command behaves the same). Through a daemon they are signed with its key, so
 * an encrypted home needs no passphrase; `host accept` answers once the inbox is served; `rm`
 * goes through the daemon's queue and is an event.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initHome, ipms, startDaemon, type Daemon } from '../../examples/ipms-cli.ts'
import { EXIT } from '../../src/cli/exit-codes.ts'
import { verifyCard } from '../../src/hosting/card.ts'
import { verifyPass } from '../../src/hosting/pass.ts'
import { createIdentity } from '../../src/identity/identity.ts'
import { loadIdentity } from '../../src/identity/keystore.ts'
import { openMailStore } from '../../src/mail/mail-store.ts'
import { openMail, sealMail } from '../../src/mail/seal.ts'
import { throughDaemon, WAYS } from './ways.ts'

let root: string
let n = 0
const PASSPHRASE = { IPMS_PASSPHRASE: 'correct horse battery' }
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-changes-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

/** Store a real mail to the home's owner in its mail store and Maildir, as a sync would; its entry hash. */
async function storeMail (home: string, entry: string): Promise<string> {
  const [alice, owner] = await Promise.all([createIdentity(), loadIdentity(home, { passphrase: PASSPHRASE.IPMS_PASSPHRASE })])
  const inbox = '/orbitdb/zdpuTest'
  const { envelope } = await sealMail({ subject: 'to delete', body: 'bye' }, { from: alice, to: owner.peerId, inbox })
  const store = openMailStore(home)
  await store.saveReceived(entry, 'bafyEnv', openMail(envelope, { identity: owner, inbox }))
  await store.flush()
  return entry
}

for (const way of WAYS) {
  test(`contacts add|rm|pass, hosts grant|revoke, host accept, rm: same output both ways, no passphrase through a daemon — ${way}`, async () => {
    const owner = await initHome(join(root, `owner-${++n}`), ['--bits', '8', '--passphrase'], { env: PASSPHRASE })
    const host = await initHome(join(root, `host-${n}`))
    const bob = await createIdentity()
    const daemons: Daemon[] = []
    // Without a daemon every signing command needs the passphrase; through one, none is asked.
    const env = throughDaemon(way) ? { IPMS_PASSPHRASE: '' } : PASSPHRASE
    try {
      if (throughDaemon(way)) {
        daemons.push(await startDaemon(owner.home, ['--listen', '/ip4/127.0.0.1/tcp/0'], { env: PASSPHRASE }))
        daemons.push(await startDaemon(host.home, ['--listen', '/ip4/127.0.0.1/tcp/0']))
      }
      // contacts
      const added = await ipms(owner.home, ['contacts', 'add', 'bob', bob.peerId, '--json'], { env })
      assert.equal(added.code, 0, added.stderr)
      assert.equal(added.json.contact.name, 'bob')
      assert.equal(added.json.contact.peer, bob.peerId)
      const human = await ipms(owner.home, ['contacts', 'add', 'bob', bob.peerId], { env })
      assert.match(human.stdout, new RegExp(`^bob is ${bob.peerId} \\(no card yet: add their card to send to them\\)$`, 'm'))
      const taken = await ipms(owner.home, ['contacts', 'add', 'bob', owner.peerId], { env })
      assert.equal(taken.code, EXIT.USAGE, taken.stderr)
      assert.match(taken.stderr, /^ipms: The contact "bob" is already 12D3KooW\w+: choose another name, or replace it with --force$/m)
      const pass = await ipms(owner.home, ['contacts', 'pass', 'bob', '--expires', '30d', '--json'], { env })
      assert.equal(pass.code, 0, pass.stderr)
      assert.equal(verifyPass(pass.json.pass, { owner: owner.peerId }).owner, owner.peerId)
      assert.equal(pass.json.keep, `ipms contacts add NAME ${owner.peerId} --pass ${String(pass.json.pass)}`)
      assert.ok(Math.abs(pass.json.expires - pass.json.issued - 30 * 86_400_000) < 1_000)
      const listed = await ipms(owner.home, ['contacts', 'list'], { env })
      assert.match(listed.stdout, new RegExp(`^bob  ${bob.peerId}  \\(no card\\)  \\(pass given, until \\S+\\)$`, 'm'))
      const unknownPass = await ipms(owner.home, ['contacts', 'pass', 'carol'], { env })
      assert.equal(unknownPass.code, EXIT.NOT_FOUND, unknownPass.stderr)
      const removed = await ipms(owner.home, ['contacts', 'rm', 'bob'], { env })
      assert.equal(removed.code, 0, removed.stderr)
      assert.equal(removed.stdout.trim(), `Forgot bob (${bob.peerId})`)
      assert.equal((await ipms(owner.home, ['contacts', 'rm', 'bob'], { env })).code, EXIT.NOT_FOUND)
      const badName = await ipms(owner.home, ['contacts', 'add', '-x', bob.peerId], { env })
      assert.notEqual(badName.code, 0)

      // hosts grant / revoke, and host accept on the host's home
      const granted = await ipms(owner.home, ['hosts', 'grant', host.peerId, '--addr', '/ip4/127.0.0.1/tcp/9', '--expires', '30d', '--json'], { env })
      assert.equal(granted.code, 0, granted.stderr)
      assert.equal(granted.json.host, host.peerId)
      assert.deepEqual(verifyCard(granted.json.card).hosts.map(h => h.peer), [host.peerId])
      assert.equal(granted.json.accept, `ipms host accept ${String(granted.json.grant)} --card ${String(granted.json.card)}`)
      const card = await ipms(owner.home, ['card', '--json'], { env })
      assert.equal(card.json.card, granted.json.card)
      const accepted = await ipms(host.home, ['host', 'accept', granted.json.grant, '--card', granted.json.card, '--json'])
      assert.equal(accepted.code, 0, accepted.stderr)
      assert.equal(accepted.json.owner, owner.peerId)
      assert.equal(accepted.json.bits, 8)
      assert.equal(accepted.json.daemon, throughDaemon(way))
      if (throughDaemon(way)) {
        // Served when the answer came: the daemon told it before, and lists it now.
        assert.ok(daemons[1]!.events.some(e => e.event === 'hosting' && e.owner === owner.peerId), JSON.stringify(daemons[1]!.events))
        const id = await ipms(host.home, ['id', '--json'])
        assert.equal(id.code, 0, id.stderr)
      }
      const refused = await ipms(host.home, ['host', 'accept', 'ipmsgrantnotagrant'])
      assert.equal(refused.code, EXIT.BAD_RECORD, refused.stderr)
      const revoked = await ipms(owner.home, ['hosts', 'revoke', host.peerId, '--json'], { env })
      assert.equal(revoked.code, 0, revoked.stderr)
      assert.equal(revoked.json.host, host.peerId)
      assert.deepEqual(verifyCard(revoked.json.card).hosts, [])
      assert.ok(revoked.json.expires > Date.now())
      const again = await ipms(owner.home, ['hosts', 'revoke', host.peerId], { env })
      assert.equal(again.code, EXIT.NOT_FOUND, again.stderr)

      // rm: a stored mail goes from the store and the Maildir; a second rm finds nothing.
      const entry = await storeMail(owner.home, `zdpuDeleteMe${n}x`)
      assert.equal((await readdir(join(owner.home, 'Maildir', 'new'))).length, 1)
      const before = await ipms(owner.home, ['list', '--json'], { env })
      assert.deepEqual(before.json.mail.map((m: { entry: string }) => m.entry), [entry])
      const deleted = await ipms(owner.home, ['rm', entry.slice(-8)], { env })
      assert.equal(deleted.code, 0, deleted.stderr)
      assert.equal(deleted.stdout.trim(), `Deleted mail ${entry.slice(-8)}.`)
      assert.deepEqual((await ipms(owner.home, ['list', '--json'], { env })).json.mail, [])
      assert.deepEqual(await readdir(join(owner.home, 'Maildir', 'new')), [])
      const gone = await ipms(owner.home, ['delete', entry.slice(-8)], { env })
      assert.equal(gone.code, EXIT.NOT_FOUND, gone.stderr)
      if (throughDaemon(way)) await daemons[0]!.next(e => e.event === 'deleted' && e.entry === entry)
    } finally {
      for (const d of daemons) assert.equal(await d.stop(), 0)
    }
  })
}
