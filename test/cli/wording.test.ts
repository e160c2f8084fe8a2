/**
 * Plurals right in what people read (issue #14): "1 replica", "1 DHT peer", "1 entry", never
 * "(s)" or "1 hosts"; attachments counted from 1.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { describeEvent } from '../../src/cli/event-lines.ts'
import type { DaemonEvent } from '../../src/daemon/events.ts'
import { count } from '../../src/util/count.ts'
import { mailProblem } from '../../src/mail/mail.ts'

const SELF = '12D3KooWSelf'
const OWNER = '12D3KooWEsAaKo2ycbc6V3EpDBXjr6aXjv9ZPhR7rUuj3fG2kQ7K'
const line = (type: DaemonEvent['type'], data: Record<string, unknown>): string => describeEvent({ id: 1, time: 0, type, data } as unknown as DaemonEvent, SELF)

test('count: singular for 1, plural otherwise, irregular plurals given', () => {
  assert.equal(count(1, 'host'), '1 host')
  assert.equal(count(0, 'host'), '0 hosts')
  assert.equal(count(2, 'entry', 'entries'), '2 entries')
})

test('the daemon\'s event lines: one of a thing is singular, none has "(s)"', () => {
  const lines = [
    line('started', { peerId: SELF, addrs: ['/ip4/127.0.0.1/tcp/1'], hosted: [OWNER] }),
    line('published', { owner: OWNER, peers: 1 }),
    line('host-dropped', { owner: OWNER, inbox: '/orbitdb/x', entries: 1, envelopes: 1 }),
    line('hosted-pruned', { owner: OWNER, count: 1 }),
    line('outbox', { id: 'abcdefgh12345678', to: OWNER, receipts: 0, replicas: 1, lastError: 'down' })
  ]
  for (const l of lines) assert.doesNotMatch(l, /\(s\)|\(es\)|\b1 (hosts|inboxes|peers|entries|envelopes|mails|receipts)\b/, l)
  assert.match(lines[0]!, /keeping 1 friend's inbox$/)
  assert.match(lines[1]!, /on 1 DHT peer$/)
  assert.match(lines[2]!, /dropped 1 entry and 1 envelope$/)
  assert.match(line('host-dropped', { owner: OWNER, inbox: '/orbitdb/x', entries: 3, envelopes: 2 }), /dropped 3 entries and 2 envelopes$/)
  assert.match(lines[4]!, /\(0 of 1 receipt\)/)
})

test('a damaged attachment is named by its place counted from 1', () => {
  const problem = mailProblem({ v: 1, id: 'a'.repeat(32), from: OWNER, to: OWNER, date: 1, subject: '', body: 'x', attachments: [{ name: '', type: 'text/plain', data: new Uint8Array(1) }] }, { signed: false })
  assert.match(String(problem), /^attachment 1 name/)
})
