/**
 * Composing and answering mail through the real binary (issue #14), both ways (test/cli/ways.ts):
 * `send --help`'s own example (`-a` does not swallow the message file), a body that is not UTF-8
 * refused with a note, `-k` beyond the recipient's hosts refused before any proof-of-work, replies
 * by an id from `ipms list` written with the real Message-ID (In-Reply-To and References in the
 * Maildir), `read` showing To, Date, Message-ID and In-Reply-To, and `init`'s difficulty warnings.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startHostFor, initHome, ipms, startDaemon, type Daemon } from '../../examples/ipms-cli.ts'
import { EXIT } from '../../src/cli/exit-codes.ts'
import { throughDaemon, WAYS } from './ways.ts'

let root: string
let n = 0
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-compose-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

const LOCAL_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/

for (const way of WAYS) {
  test(`send -a … FILE, non-UTF-8 bodies, -k beyond the hosts, replies by list id, read's headers — ${way}`, async () => {
    const host = await initHome(join(root, `host-${++n}`))
    const owner = await initHome(join(root, `owner-${n}`), ['--bits', '8'])
    const files = join(root, `files-${n}`)
    await mkdir(files)
    const path = (name: string): string => join(files, name)
    await writeFile(path('notes.txt'), 'the notes\n')
    await writeFile(path('beach.jpg'), randomBytes(3000))
    await writeFile(path('dunes.jpg'), randomBytes(2000))
    await writeFile(path('latin1.txt'), Buffer.from('caf\xe9 au lait\n', 'latin1'))
    const daemons: Daemon[] = []
    try {
      const { hostDaemon, card } = await startHostFor(owner, host)
      daemons.push(hostDaemon)
      assert.equal((await ipms(owner.home, ['contacts', 'add', 'me', card])).code, 0)
      if (throughDaemon(way)) daemons.push(await startDaemon(owner.home, ['--listen', '/ip4/127.0.0.1/tcp/0']))
      const outboxEmpty = async (): Promise<void> => { assert.deepEqual((await ipms(owner.home, ['outbox', '--json'])).json.outbox, []) }

      // send --help's example: two attachments, the body from the file after them.
      const sent = await ipms(owner.home, ['send', 'me', '-s', 'Photos', '-a', path('beach.jpg'), '-a', path('dunes.jpg'), path('notes.txt'), '--json'])
      assert.equal(sent.code, 0, sent.stderr)
      // Refused before anything is stamped: not UTF-8 (a file, stdin), more receipts than hosts.
      for (const [args, input] of [[[path('latin1.txt')], undefined], [[], randomBytes(2000)]] as Array<[string[], Uint8Array | undefined]>) {
        const refused = await ipms(owner.home, ['send', 'me', '-s', 'bytes', ...args], input === undefined ? {} : { input })
        assert.equal(refused.code, EXIT.USAGE, refused.stderr)
        assert.match(refused.stderr, /is not UTF-8 text: send a file as an attachment \(-a FILE\)/)
      }
      const tooMany = await ipms(owner.home, ['send', 'me', '-k', '2', path('notes.txt')])
      assert.equal(tooMany.code, EXIT.USAGE, tooMany.stderr)
      assert.match(tooMany.stderr, /2 receipts from distinct hosts cannot be had: the card of 12D3KooW\w+ lists 1 host\. Ask for at most 1 \(-k\)/)
      await outboxEmpty()

      assert.equal((await ipms(owner.home, ['sync'])).code, 0)
      const first = (await ipms(owner.home, ['list', '--json'])).json.mail
      assert.equal(first.length, 1)
      assert.match(first[0].messageId, /^[0-9a-f]{32}$/)
      const read = (await ipms(owner.home, ['read', first[0].id, '--json'])).json.mail
      assert.equal(read.body, 'the notes\n')
      assert.deepEqual(read.attachments.map((a: { name: string, size: number }) => [a.name, a.size]), [['beach.jpg', 3000], ['dunes.jpg', 2000]])

      // A reply by the id `ipms list` shows: In-Reply-To is the real Message-ID.
      const badReply = await ipms(owner.home, ['send', 'me', '--in-reply-to', 'zzzzzzzz', path('notes.txt')])
      assert.equal(badReply.code, EXIT.USAGE, badReply.stderr)
      assert.match(badReply.stderr, /--in-reply-to "zzzzzzzz": No mail zzzzzzzz here.*Message-ID <id@ipms>/)
      await outboxEmpty()
      const reply = await ipms(owner.home, ['send', 'me', '-s', 'Re: Photos', '--in-reply-to', first[0].id], { input: 'lovely\n' })
      assert.equal(reply.code, 0, reply.stderr)
      const byMessageId = await ipms(owner.home, ['send', 'me', '-s', 'Re: Re: Photos', '--in-reply-to', `<${String(first[0].messageId)}@ipms>`], { input: 'again\n' })
      assert.equal(byMessageId.code, 0, byMessageId.stderr)
      assert.equal((await ipms(owner.home, ['sync'])).code, 0)
      const all = (await ipms(owner.home, ['list', '--json'])).json.mail as Array<{ id: string, subject: string, inReplyTo?: string, messageId: string }>
      assert.equal(all.length, 3)
      for (const subject of ['Re: Photos', 'Re: Re: Photos']) assert.equal(all.find(m => m.subject === subject)?.inReplyTo, first[0].messageId, subject)
      const answer = all.find(m => m.subject === 'Re: Photos')!
      const human = (await ipms(owner.home, ['read', answer.id])).stdout
      assert.match(human, new RegExp(`^To: {6}${owner.peerId}$`, 'm'))
      assert.match(human, /^Date: {4}(\S+)$/m)
      assert.match(/^Date: {4}(\S+)$/m.exec(human)![1]!, LOCAL_TIME)
      assert.match(human, new RegExp(`^Message-ID: <${answer.messageId}@ipms>$`, 'm'))
      assert.match(human, new RegExp(`^In-Reply-To: <${String(first[0].messageId)}@ipms>$`, 'm'))
      const listed = (await ipms(owner.home, ['list'])).stdout
      assert.match(listed, new RegExp(`^  ${answer.id}  \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d[+-]\\d\\d:\\d\\d  `, 'm'), 'list and read: one date style')
      // Read above: the Maildir has it in cur/ now.
      const maildir = join(owner.home, 'Maildir', 'cur')
      const file = (await readdir(maildir)).find(name => name.split('.')[1]!.endsWith(answer.id))
      assert.ok(file !== undefined, 'the reply is in the Maildir, read')
      const message = await readFile(join(maildir, file), 'utf8')
      assert.match(message, new RegExp(`^In-Reply-To: <${String(first[0].messageId)}@ipms>$`, 'm'))
      assert.match(message, new RegExp(`^References: <${String(first[0].messageId)}@ipms>$`, 'm'))
    } finally {
      for (const d of daemons) assert.equal(await d.stop(), 0)
    }
  })
}

test('init warns at either extreme of the difficulty, saying what it means', async () => {
  const low = await ipms(join(root, 'bits-0'), ['init', '--bits', '0'])
  assert.equal(low.code, 0, low.stderr)
  assert.match(low.stderr, /^Warning: at 0 bits a stamp costs a sender about 1 hashes .*no protection from spam\. The default is 24\.$/m)
  const high = await ipms(join(root, 'bits-40'), ['init', '--bits', '40'])
  assert.equal(high.code, 0, high.stderr)
  assert.match(high.stderr, /^Warning: at 40 bits each mail to you costs its sender about 18 hours of proof-of-work/m)
  const usual = await ipms(join(root, 'bits-24'), ['init'])
  assert.doesNotMatch(usual.stderr, /Warning/)
})
