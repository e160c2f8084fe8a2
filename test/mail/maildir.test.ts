import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createIdentity } from '../../src/identity/identity.ts'
import { openMailStore } from '../../src/mail/mail-store.ts'
import { sealMail, openMail } from '../../src/mail/seal.ts'

test('received mail lands once in Maildir/new as a MIME message (encoded subject, attachment, reply header)', async () => {
  const home = await mkdtemp(join(tmpdir(), 'ipms-maildir-'))
  try {
    const [alice, bob] = await Promise.all([createIdentity(), createIdentity()])
    const inbox = '/orbitdb/zdpuTest'
    const { envelope } = await sealMail({ subject: 'Grüße — 2026', body: 'a line\n'.repeat(3), inReplyTo: 'abc123', attachments: [{ name: 'résumé.pdf', type: 'application/pdf', data: new Uint8Array([1, 2, 3]) }] }, { from: alice, to: bob.peerId, inbox })
    const mail = openMail(envelope, { identity: bob, inbox })
    const store = openMailStore(home, { nameOf: async peer => peer === alice.peerId ? 'alice' : undefined })
    await store.saveReceived('zdpuEntryOne', 'bafyEnv', mail)
    await store.saveReceived('zdpuEntryOne', 'bafyEnv', mail) // a crash between store and prune: stored again
    await store.flush()
    const names = await readdir(join(home, 'Maildir', 'new'))
    assert.equal(names.length, 1)
    assert.match(names[0]!, /^\d+\.zdpuEntryOne\.[^/:]+$/)
    assert.deepEqual(await readdir(join(home, 'Maildir', 'tmp')), [])
    // A second store (a new process) knows it is there too.
    await openMailStore(home).saveReceived('zdpuEntryOne', 'bafyEnv', mail)
    assert.equal((await readdir(join(home, 'Maildir', 'new'))).length, 1)
    const message = await readFile(join(home, 'Maildir', 'new', names[0]!), 'utf8')
    assert.doesNotMatch(message, /\r\n/, 'LF line ends, as Maildir tools expect')
    assert.match(message, new RegExp(`^From: alice <${alice.peerId}@ipms>$`, 'm'))
    // RFC 2047: an encoded word, B or Q as the encoder prefers.
    const [, kind, text] = /^Subject: =\?UTF-8\?([BQ])\?(.+)\?=$/m.exec(message) ?? []
    const decoded = kind === 'B' ? Buffer.from(text!, 'base64').toString('utf8') : Buffer.from(text!.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8')
    assert.equal(decoded, 'Grüße — 2026')
    assert.match(message, /^In-Reply-To: <abc123@ipms>$/m)
    assert.match(message, new RegExp(`^Message-ID: <${mail.id}@ipms>$`, 'm'))
    assert.match(message, /^Content-Disposition: attachment; filename\*0\*=utf-8''r%C3%A9sum%C3%A9\.pdf$/m)
    assert.match(message, /^X-Ipms-Entry: zdpuEntryOne$/m)
  } finally {
    await rm(home, { recursive: true, force: true })
  }
})
