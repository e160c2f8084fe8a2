/**
 * Read state and deletion shared with mail tools through the Maildir (issue #14), through the real
 * binary, both ways (test/cli/ways.ts). `ipms list` marks unread mail (N); `ipms read` marks it read
 * the way a mail reader does (new/ → cur/ with `:2,S`); what a mail tool did in the Maildir shows
 * in `ipms list`: a flag (`F`: !), a reply (`R`: r), a message deleted or trashed (`T`) is no longer
 * listed (`--all` still shows it; its copy here stays until `ipms rm`).
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rename, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startHostFor, initHome, ipms, startDaemon, type Daemon } from '../../examples/ipms-cli.ts'
import { throughDaemon, WAYS } from './ways.ts'

let root: string
let n = 0
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-read-state-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

interface Row { id: string, entry: string, subject: string, unread: boolean, flagged: boolean, replied: boolean }

for (const way of WAYS) {
  test(`list marks unread mail, read marks it read in the Maildir; flags, trash and deletions made by a mail tool show in list — ${way}`, async () => {
    const host = await initHome(join(root, `host-${++n}`))
    const owner = await initHome(join(root, `owner-${n}`), ['--bits', '8'])
    const daemons: Daemon[] = []
    try {
      const { hostDaemon, card } = await startHostFor(owner, host)
      daemons.push(hostDaemon)
      for (const subject of ['one', 'two', 'three', 'four']) {
        const sent = await ipms(owner.home, ['send', card, '-s', subject], { input: `${subject}\n` })
        assert.equal(sent.code, 0, sent.stderr)
      }
      assert.equal((await ipms(owner.home, ['sync'])).code, 0)
      if (throughDaemon(way)) daemons.push(await startDaemon(owner.home, ['--listen', '/ip4/127.0.0.1/tcp/0']))
      // What was sent is kept too: list --sent, and the Maildir++ folder .Sent, read.
      const sentRows = (await ipms(owner.home, ['list', '--sent', '--json'])).json.sent as Array<{ subject: string, to: string, env: string }>
      assert.deepEqual(sentRows.map(r => r.subject).sort(), ['four', 'one', 'three', 'two'])
      assert.ok(sentRows.every(r => r.to === owner.peerId))
      const sentFolder = join(owner.home, 'Maildir', '.Sent')
      const sentFiles = await readdir(join(sentFolder, 'cur'))
      assert.equal(sentFiles.length, 4)
      assert.ok(sentFiles.every(f => f.endsWith(':2,S') && sentRows.some(r => f.split('.')[1] === r.env)), sentFiles.join(' '))
      assert.deepEqual(await readdir(join(sentFolder, 'new')), [])
      assert.ok((await readdir(sentFolder)).includes('maildirfolder'))
      assert.match((await ipms(owner.home, ['list', '--sent'])).stdout, /^\S{8}  \S+  to 12D3KooW\S+\s+\d+ B  one$/m)
      const rows = async (...args: string[]): Promise<Row[]> => (await ipms(owner.home, ['list', '--json', ...args])).json.mail
      const bySubject = async (subject: string, ...args: string[]): Promise<Row | undefined> => (await rows(...args)).find(r => r.subject === subject)
      const maildir = join(owner.home, 'Maildir')
      const fileOf = async (row: Row): Promise<{ dir: string, name: string }> => {
        for (const dir of ['new', 'cur']) {
          const name = (await readdir(join(maildir, dir))).find(f => f.split('.')[1] === row.entry)
          if (name !== undefined) return { dir, name }
        }
        throw new Error(`no Maildir file for ${row.subject}`)
      }

      const fresh = await rows()
      assert.equal(fresh.length, 4)
      assert.ok(fresh.every(r => r.unread && !r.flagged && !r.replied))
      assert.equal((await ipms(owner.home, ['list'])).stdout.split('\n').filter(l => l.startsWith('N ')).length, 4, 'N for each unread mail')

      // ipms read: marked read, as a mail reader would (cur/, :2,S); --peek leaves it unread.
      const one = (await bySubject('one'))!
      assert.equal((await ipms(owner.home, ['read', one.id, '--peek'])).code, 0)
      assert.equal((await bySubject('one'))!.unread, true)
      assert.equal((await ipms(owner.home, ['read', one.id])).code, 0)
      assert.equal((await bySubject('one'))!.unread, false)
      assert.match((await fileOf(one)).name, /:2,S$/)
      assert.equal((await fileOf(one)).dir, 'cur')
      assert.match((await ipms(owner.home, ['list'])).stdout, new RegExp(`^  ${one.id}  `, 'm'))

      // A mail tool flags "two" and replies to "three" (renames in the Maildir, flags in ASCII order).
      const two = (await bySubject('two'))!
      const twoFile = await fileOf(two)
      await rename(join(maildir, twoFile.dir, twoFile.name), join(maildir, 'cur', `${twoFile.name}:2,FS`))
      const three = (await bySubject('three'))!
      const threeFile = await fileOf(three)
      await rename(join(maildir, threeFile.dir, threeFile.name), join(maildir, 'cur', `${threeFile.name}:2,RS`))
      assert.deepEqual([(await bySubject('two'))!.flagged, (await bySubject('two'))!.unread], [true, false])
      assert.equal((await bySubject('three'))!.replied, true)
      const listed = (await ipms(owner.home, ['list'])).stdout
      assert.match(listed, new RegExp(`^! ${two.id}  `, 'm'))
      assert.match(listed, new RegExp(`^r ${three.id}  `, 'm'))
      // ipms read of a flagged mail keeps its flags.
      assert.equal((await ipms(owner.home, ['read', two.id])).code, 0)
      assert.match((await fileOf(two)).name, /:2,FS$/)

      // Trashed (T) in one tool, deleted outright in another: no longer listed, still kept (--all).
      const threeNow = await fileOf(three)
      await rename(join(maildir, 'cur', threeNow.name), join(maildir, 'cur', threeNow.name.replace(/:2,\w*$/, ':2,RST')))
      const four = (await bySubject('four'))!
      const fourFile = await fileOf(four)
      await rm(join(maildir, fourFile.dir, fourFile.name))
      assert.deepEqual((await rows()).map(r => r.subject).sort(), ['one', 'two'])
      assert.deepEqual((await rows('--all')).map(r => r.subject).sort(), ['four', 'one', 'three', 'two'])
      // A rank counts what list shows; an id still names a mail only --all lists.
      assert.equal((await ipms(owner.home, ['read', '3'])).code, 67)
      const readFour = await ipms(owner.home, ['read', four.id, '--json'])
      assert.equal(readFour.code, 0, readFour.stderr)
      assert.equal(readFour.json.mail.subject, 'four')
      assert.equal((await ipms(owner.home, ['rm', four.id])).code, 0)
      assert.deepEqual((await rows('--all')).map(r => r.subject).sort(), ['one', 'three', 'two'])
      if (throughDaemon(way)) await daemons[1]!.next(e => e.event === 'seen' && e.entry === one.entry)
    } finally {
      for (const d of daemons) assert.equal(await d.stop(), 0)
    }
  })
}
