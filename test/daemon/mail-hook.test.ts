/**
 * The `--on-mail` hook (src/daemon/mail-hook.ts) on its own: one run per mail, in order, the mail
 * in the environment with the subject made safe; a failing or hanging hook is reported, and the
 * next run still happens.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMailHook, hookSubject } from '../../src/daemon/mail-hook.ts'

let root: string
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-hook-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

test('a subject keeps no control, format or line-separator character, and at most 200 characters', () => {
  assert.equal(hookSubject('Hi\x1b[31m red\r\nline\ttab\u202eevil\u200b\u2028\x00end'), 'Hi [31m red  line tab evil   end')
  assert.equal(hookSubject('é'.repeat(300)), 'é'.repeat(200))
  assert.equal(hookSubject('😀'.repeat(201)).length, 400, 'cut by characters, never inside a surrogate pair')
})

test('one run per mail, in order, with the mail in its environment; a failure and a timeout are reported and the next run goes on', async () => {
  const file = join(root, 'runs')
  const errors: string[] = []
  const hook = createMailHook({
    command: `printf '%s|%s|%s|%s\\n' "$IPMS_MAIL_ID" "$IPMS_MAIL_FROM" "$IPMS_MAIL_SUBJECT" "$IPMS_HOME" >> '${file}'; case "$IPMS_MAIL_SUBJECT" in fail) exit 3;; hang) sleep 60;; esac`,
    timeoutMs: 2_000,
    home: '/the/home',
    onError: message => { errors.push(message) }
  })
  const started = Date.now()
  hook.run({ id: 'id1', from: 'peerA', subject: 'first\nsecond line' })
  hook.run({ id: 'id2', from: 'peerB', subject: 'fail' })
  hook.run({ id: 'id3', from: 'peerC', subject: 'hang' })
  hook.run({ id: 'id4', from: 'peerD', subject: 'last' })
  await hook.stop()
  hook.run({ id: 'id5', from: 'peerE', subject: 'after stop' })
  await hook.idle()
  assert.ok(Date.now() - started < 30_000, 'the hanging hook was killed at its timeout (its sleep too: the process group)')
  assert.deepEqual((await readFile(file, 'utf8')).trim().split('\n'), [
    'id1|peerA|first second line|/the/home',
    'id2|peerB|fail|/the/home',
    'id3|peerC|hang|/the/home',
    'id4|peerD|last|/the/home'
  ])
  assert.equal(errors.length, 2, errors.join('; '))
  assert.match(errors[0]!, /hook for mail id2 exited 3/)
  assert.match(errors[1]!, /hook for mail id3 ran longer than 2000 ms and was killed/)
})
