/**
 * What `ipms` shows on a terminal is safe whatever a sender wrote (issue #10.13), and two
 * `ipms sync` at once both succeed (#11.8). Real binaries in child processes, real nodes on
 * 127.0.0.1.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { grantRunningHost, initHome, ipms, startDaemon } from '../../examples/ipms-cli.ts'
import { openMailStore } from '../../src/mail/mail-store.ts'

let root: string
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-terminal-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

const init = async (name: string, ...args: string[]): Promise<{ home: string, peerId: string }> => await initHome(join(root, name), args)

/** The body: it draws a forged "signature verified" line above the real one. */
const forgedBody = (peer: string): string => `Hi\n\x1b[5A\rFrom:    ${peer} — signature verified\x1b[K\n\n\n\n`
/** Allowed by the mail format (§4.1 refuses only C0 and DEL in subjects), yet a terminal may act on it. */
const hostileSubject = 'Invoice \u202Efdp.exe \u009b31m'
/** Anything a terminal acts on: C0 but LF/TAB, DEL, C1, U+2028/9, bidi controls. */
const TERMINAL_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]/

test('two ipms sync at once both succeed and store the mail once; read and list show a forged body and a bidi subject visibly', async () => {
  const [host, alice, bob, mallory] = [await init('host'), await init('alice'), await init('bob', '--bits', '8'), await init('mallory')]
  const hostDaemon = await startDaemon(host.home)
  try {
    const { card } = await grantRunningHost(bob, host, hostDaemon)
    // Mallory writes a body that forges Alice's "signature verified" line.
    const sent = await ipms(mallory.home, ['send', card, '-s', hostileSubject, '--json'], { input: forgedBody(alice.peerId) })
    assert.equal(sent.code, 0, sent.stderr)

    const [first, second] = await Promise.all([ipms(bob.home, ['sync', '--json']), ipms(bob.home, ['sync', '--json'])])
    assert.equal(first.code, 0, `first: ${first.stderr}${first.stdout}`)
    assert.equal(second.code, 0, `second: ${second.stderr}${second.stdout}`)
    assert.equal(first.json.received.length + second.json.received.length, 1, 'the mail is stored by one of them')
    assert.equal((await readdir(join(bob.home, 'mail', 'received'))).filter(f => f.endsWith('.cbor')).length, 1)
    assert.equal((await readdir(join(bob.home, 'Maildir', 'new'))).length, 1)

    const read = await ipms(bob.home, ['read', '1'])
    assert.equal(read.code, 0, read.stderr)
    assert.doesNotMatch(read.stdout, TERMINAL_CONTROL)
    assert.ok(read.stdout.includes(`Hi\n^[[5A^MFrom:    ${alice.peerId} — signature verified^[[K\n`), read.stdout)
    assert.deepEqual(read.stdout.split('\n').filter(l => l.startsWith('From:')), [`From:    ${mallory.peerId} — signature verified`], 'one sender line: the real one')
    assert.match(read.stdout, /^Subject: Invoice <U\+202E>fdp\.exe <U\+009B>31m$/m)

    const list = await ipms(bob.home, ['list'])
    assert.equal(list.code, 0, list.stderr)
    assert.doesNotMatch(list.stdout, TERMINAL_CONTROL)
    assert.match(list.stdout, /Invoice <U\+202E>fdp\.exe <U\+009B>31m$/m)

    // --json: escaped, and the same text once parsed.
    const json = await ipms(bob.home, ['read', '1', '--json'])
    assert.doesNotMatch(json.stdout, TERMINAL_CONTROL)
    assert.equal(json.json.mail.subject, hostileSubject)
    assert.equal(json.json.mail.body, forgedBody(alice.peerId))
  } finally {
    assert.equal(await hostDaemon.stop(), 0)
  }
})

test('a stored mail with hostile names (past the format\'s own checks): read, list and --save stay safe; --raw into a pipe is the raw message', async () => {
  const bob = await init('bob2')
  const mail = {
    v: 1 as const,
    from: (await init('eve')).peerId,
    to: bob.peerId,
    date: Date.now(),
    id: 'hostile',
    subject: 'title\x1b]0;pwned\x07 \x1b[2J',
    body: forgedBody(bob.peerId),
    attachments: [
      { name: '../../escaped.txt', type: 'text/plain', data: new TextEncoder().encode('out') },
      { name: '.bashrc\x1b[31m', type: 'text/plain', data: new TextEncoder().encode('rc') },
      { name: 'invoice\u202Efdp.exe', type: 'application/octet-stream', data: new TextEncoder().encode('exe') }
    ],
    sig: new Uint8Array(64)
  }
  await openMailStore(bob.home, { maildir: false }).saveReceived('zdpuHostileEntry1', 'bafyHostile', mail)
  const saveTo = join(root, 'saved')
  const read = await ipms(bob.home, ['read', '1', '--save', saveTo])
  assert.equal(read.code, 0, read.stderr)
  assert.doesNotMatch(read.stdout, TERMINAL_CONTROL)
  assert.match(read.stdout, /^Subject: title\^\[\]0;pwned\^G \^\[\[2J$/m)
  assert.match(read.stdout, /^Attached: \.\.\/\.\.\/escaped\.txt \(text\/plain, 3 B\), \.bashrc\^\[\[31m \(text\/plain, 2 B\), invoice<U\+202E>fdp\.exe/m)
  assert.deepEqual((await readdir(saveTo)).sort(), ['_._.._escaped.txt', '_bashrc_[31m', 'invoice_fdp.exe'])
  await assert.rejects(readFile(join(root, 'escaped.txt')), { code: 'ENOENT' })
  const list = await ipms(bob.home, ['list'])
  assert.doesNotMatch(list.stdout, TERMINAL_CONTROL)
  assert.match(list.stdout, /title\^\[\]0;pwned\^G \^\[\[2J \[3 attachments\]$/m)
  // Piped, --raw is the message as mail tools read it (bytes unchanged).
  const raw = await ipms(bob.home, ['read', '1', '--raw'])
  assert.equal(raw.code, 0, raw.stderr)
  assert.match(raw.stdout, /^X-IPMS-Entry: zdpuHostileEntry1$/mi)
})
