import { test } from 'node:test'
import assert from 'node:assert/strict'
import { threadsOf } from '../../src/mail/threads.ts'

const m = (messageId: string, date: number, inReplyTo?: string): { messageId: string, date: number, inReplyTo?: string } => ({ messageId, date, ...(inReplyTo === undefined ? {} : { inReplyTo }) })

test('threads: answers under what they answer, with depths; answers to an absent mail together; newest activity first', () => {
  const threads = threadsOf([m('a', 1), m('b', 5, 'a'), m('c', 9, 'b'), m('x', 3), m('p', 2, 'gone'), m('q', 4, 'gone'), m('d', 6, 'a')])
  assert.deepEqual(threads.map(t => [t.root, t.mail.map(e => `${e.item.messageId}${e.depth}`)]), [
    ['a', ['a0', 'b1', 'd1', 'c2']],
    ['gone', ['p0', 'q0']],
    ['x', ['x0']]
  ])
})

test('threads: a forged cycle of inReplyTo is cut, every mail is listed once; an empty list gives none', () => {
  const threads = threadsOf([m('a', 1, 'b'), m('b', 2, 'a'), m('c', 3, 'c')])
  assert.equal(threads.flatMap(t => t.mail).length, 3)
  assert.deepEqual(threadsOf([]), [])
})
