/**
 * Replies and forwards through the real binary (issue #14), both ways (test/cli/ways.ts): a mail
 * carries its sender's card, so the recipient answers with `ipms reply` at once, without the
 * sender's card in their contacts and without a lookup; the reply is threaded (In-Reply-To the real
 * Message-ID, `Re:` once), quotes the original, and marks it answered (r) in the Maildir; a newer
 * card carried by a mail replaces a contact's older one; `ipms forward` keeps the attachments.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { grantRunningHost, initHome, ipms, startDaemon, type Daemon } from '../../examples/ipms-cli.ts'
import { verifyCard } from '../../src/hosting/card.ts'
import { throughDaemon, WAYS } from './ways.ts'

let root: string
let n = 0
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-reply-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

for (const way of WAYS) {
  test(`reply by the card the mail carried (threaded, quoted, marked answered); a newer carried card updates a contact; forward keeps attachments — ${way}`, async () => {
    const host = await initHome(join(root, `host-${++n}`))
    const alice = await initHome(join(root, `alice-${n}`), ['--bits', '8'])
    const bob = await initHome(join(root, `bob-${n}`), ['--bits', '8'])
    const daemons: Daemon[] = []
    try {
      const hostDaemon = await startDaemon(host.home, ['--listen', '/ip4/127.0.0.1/tcp/0'])
      daemons.push(hostDaemon)
      // Bob knows Alice by her peer-id only (no card: he could not write to her); Alice has Bob's card.
      assert.equal((await ipms(bob.home, ['contacts', 'add', 'alice', alice.peerId])).code, 0)
      const aliceCard = (await grantRunningHost(alice, host, hostDaemon)).card
      const bobCard = (await grantRunningHost(bob, host, hostDaemon)).card
      assert.equal((await ipms(alice.home, ['contacts', 'add', 'bob', bobCard])).code, 0)
      if (throughDaemon(way)) for (const who of [alice, bob]) daemons.push(await startDaemon(who.home, ['--listen', '/ip4/127.0.0.1/tcp/0']))
      const photo = join(root, `photo-${n}.png`)
      await writeFile(photo, Buffer.alloc(1500, 7))

      const sent = await ipms(alice.home, ['send', 'bob', '-s', 'Lunch?', '-a', photo], { input: 'Noon?\nAt the usual place.\n' })
      assert.equal(sent.code, 0, sent.stderr)
      // Bob reads it: the card it carried is his contact's now (it was none).
      assert.equal((await ipms(bob.home, ['sync'])).code, 0)
      const [got] = (await ipms(bob.home, ['list', '--json'])).json.mail
      assert.equal(got.subject, 'Lunch?')
      const read = (await ipms(bob.home, ['read', got.id, '--json'])).json.mail
      assert.equal(read.card, aliceCard, 'the mail carries its sender\'s card')
      const aliceContact = (await ipms(bob.home, ['contacts', 'list', '--json'])).json.contacts.find((c: { name: string }) => c.name === 'alice')
      assert.equal(aliceContact.card, aliceCard, 'learnt from the mail')

      // The reply goes by that card; threaded and quoted.
      const replied = await ipms(bob.home, ['reply', got.id], { input: 'Yes, noon.\n' })
      assert.equal(replied.code, 0, replied.stderr)
      assert.match(replied.stdout, /^Sent to alice in [\d.]+ s\./m)
      assert.match((await ipms(bob.home, ['list'])).stdout, new RegExp(`^r ${String(got.id)}  `, 'm'), 'marked answered')
      assert.equal((await ipms(alice.home, ['sync'])).code, 0)
      const answer = (await ipms(alice.home, ['list', '--json'])).json.mail.find((m: { subject: string }) => m.subject === 'Re: Lunch?')
      assert.ok(answer !== undefined)
      assert.equal(answer.inReplyTo, got.messageId)
      const body = (await ipms(alice.home, ['read', answer.id, '--json'])).json.mail.body
      assert.match(body, /^Yes, noon\.\n\nOn \S+, alice wrote:\n> Noon\?\n> At the usual place\.\n$/)
      // A reply to the reply: `Re:` once.
      const again = await ipms(alice.home, ['reply', answer.id, '--no-card'], { input: 'Great.\n' })
      assert.equal(again.code, 0, again.stderr)
      assert.equal((await ipms(bob.home, ['sync'])).code, 0)
      const second = (await ipms(bob.home, ['list', '--json'])).json.mail.find((m: { inReplyTo?: string }) => m.inReplyTo === answer.messageId)
      assert.equal(second.subject, 'Re: Lunch?')
      assert.equal((await ipms(bob.home, ['read', second.id, '--json'])).json.mail.card, undefined, '--no-card carries none')

      // Forward: the attachment kept, the original below; no text needed.
      const forwarded = await ipms(bob.home, ['forward', got.id, 'alice'], { input: '' })
      assert.equal(forwarded.code, 0, forwarded.stderr)
      assert.equal((await ipms(alice.home, ['sync'])).code, 0)
      const fwd = (await ipms(alice.home, ['list', '--json'])).json.mail.find((m: { subject: string }) => m.subject === 'Fwd: Lunch?')
      const fwdMail = (await ipms(alice.home, ['read', fwd.id, '--json'])).json.mail
      assert.deepEqual(fwdMail.attachments.map((a: { name: string, size: number }) => [a.name, a.size]), [[`photo-${n}.png`, 1500]])
      assert.match(fwdMail.body, new RegExp(`^---------- Forwarded message ----------\\nFrom: alice <${alice.peerId}@ipms>\\nDate: \\S+\\nSubject: Lunch\\?\\nMessage-ID: <${String(got.messageId)}@ipms>\\n\\nNoon\\?\\nAt the usual place\\.\\n$`))
      assert.equal(verifyCard(aliceCard).owner, alice.peerId)
      // The conversation as one thread at Bob's: Alice's mail, his reply (sent), her answer.
      const threads = (await ipms(bob.home, ['list', '--threads', '--json'])).json.threads
      assert.equal(threads.length, 1, JSON.stringify(threads))
      assert.deepEqual(threads[0].mail.map((m: { depth: number, received?: { subject: string }, sent?: { subject: string } }) => [m.depth, m.received !== undefined ? 'received' : 'sent', (m.received ?? m.sent)!.subject]),
        [[0, 'received', 'Lunch?'], [1, 'sent', 'Re: Lunch?'], [2, 'received', 'Re: Lunch?']])
      assert.match((await ipms(bob.home, ['list', '--threads'])).stdout, /^ {2}\S{8} {2}\S+ {2}└ → alice/m)
      const unknown = await ipms(bob.home, ['reply', 'zzzzzzzz'], { input: 'x' })
      assert.equal(unknown.code, 67, unknown.stderr)
    } finally {
      for (const d of daemons) assert.equal(await d.stop(), 0)
    }
  })
}
