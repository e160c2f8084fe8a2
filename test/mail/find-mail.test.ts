/**
 * Naming a mail (README, "Reading mail"): a rank counts what `ipms list` shows, an id is the end of
 * an entry hash. A CI run once read mail "3" of a list of two because a hash ended in 3.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createIdentity } from '../../src/identity/identity.ts'
import { findMail } from '../../src/mail/find-mail.ts'
import { openMailStore } from '../../src/mail/mail-store.ts'
import { sealMail, openMail } from '../../src/mail/seal.ts'
import { NotFoundError } from '../../src/errors.ts'
import { matchIdEnd } from '../../src/util/id-end.ts'

test('a rank past the end of the list is not found, even when a hash ends with it; an id end needs 4 characters', async () => {
  const home = await mkdtemp(join(tmpdir(), 'ipms-find-mail-'))
  try {
    const [alice, bob] = await Promise.all([createIdentity(), createIdentity()])
    const inbox = '/orbitdb/zdpuTest'
    const store = openMailStore(home, { maildir: false })
    const entries = ['zdpuAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA3', 'zdpuBBBBBBBBBBBBBBBBBBBBBBBBBBBBBXyz9']
    for (const [i, entry] of entries.entries()) {
      const { envelope } = await sealMail({ subject: `mail ${i}`, body: 'hi\n' }, { from: alice, to: bob.peerId, inbox })
      await store.saveReceived(entry, `bafyEnv${i}`, openMail(envelope, { identity: bob, inbox }))
    }
    assert.equal((await findMail(store, '1')).entry.length > 0, true)
    await assert.rejects(findMail(store, '3'), (err: unknown) => err instanceof NotFoundError && /ipms list shows 2 mails/.test(err.message))
    await assert.rejects(findMail(store, '0'), NotFoundError)
    // An end shorter than 4 characters names nothing, the whole id or 4 characters of its end do.
    await assert.rejects(findMail(store, 'yz9'), NotFoundError)
    await assert.rejects(findMail(store, ''), NotFoundError)
    assert.equal((await findMail(store, 'Xyz9')).entry, entries[1])
    assert.equal((await findMail(store, entries[0]!)).entry, entries[0])
  } finally {
    await rm(home, { recursive: true, force: true })
  }
})

test('matchIdEnd: the whole id, or an end of at least 4 characters; never an empty or short end', () => {
  const ids = ['abcdef12', 'zzzzef12', 'q']
  const match = (given: string): string[] => matchIdEnd(ids, given, id => id)
  assert.deepEqual(match(''), [])
  assert.deepEqual(match('2'), [])
  assert.deepEqual(match('q'), ['q'])
  assert.deepEqual(match('ef12'), ['abcdef12', 'zzzzef12'])
  assert.deepEqual(match('def12'), ['abcdef12'])
})
