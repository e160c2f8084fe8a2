import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openMailboxIndex, type IndexedOp } from '../../src/stores/mailbox-index.ts'
import { randomEntryHash, randomEnvelopeCid } from '../helpers/inbox.ts'

const dirs: string[] = []
after(async () => { await Promise.all(dirs.map(async d => await rm(d, { recursive: true, force: true }))) })
async function freshIndex (): Promise<{ path: string, index: Awaited<ReturnType<typeof openMailboxIndex>> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ipms-index-'))
  dirs.push(dir)
  const path = join(dir, 'index')
  return { path, index: await openMailboxIndex(path) }
}
const mail = (ts: number, env = randomEnvelopeCid().toString()): IndexedOp & { op: 'MAIL' } => ({ hash: randomEntryHash(), op: 'MAIL', env, size: 1120, ts })

test('MAIL entries become pending, newest first; applying one twice changes nothing', async () => {
  const { index } = await freshIndex()
  const [a, b, c] = [mail(1), mail(3), mail(2)]
  const result = await index.apply([a, b, c])
  assert.equal(result.added.length, 3)
  assert.deepEqual((await index.pending()).map(m => m.hash), [b.hash, c.hash, a.hash])
  assert.equal((await index.apply([a])).added.length, 0)
  assert.equal((await index.pending()).length, 3)
  await index.close()
})

test('a replayed envelope under a new entry is not a new mail', async () => {
  const { index } = await freshIndex()
  const first = mail(1)
  const replay = { ...mail(2, first.env) }
  await index.apply([first])
  assert.equal((await index.apply([replay])).added.length, 0)
  assert.deepEqual((await index.pending()).map(m => m.hash), [first.hash])
})

test('PRUNE drops pending mail, queues its envelope for deletion, and works when it comes first', async () => {
  const { index } = await freshIndex()
  const [a, b] = [mail(1), mail(2)]
  await index.apply([a, b])
  const pruneA: IndexedOp = { hash: randomEntryHash(), op: 'PRUNE', entries: [a.hash] }
  const result = await index.apply([pruneA])
  assert.deepEqual(result.pruned, [a.env])
  assert.deepEqual((await index.pending()).map(m => m.hash), [b.hash])
  assert.equal(await index.pendingBytes(), b.size, 'the byte total follows the pending mail')
  assert.deepEqual(await index.garbage(), [a.env])
  await index.collected(a.env)
  assert.deepEqual(await index.garbage(), [])
  // A PRUNE seen before the MAIL it names (concurrent heads): the mail never becomes pending.
  const c = mail(3)
  await index.apply([{ hash: randomEntryHash(), op: 'PRUNE', entries: [c.hash] }])
  assert.equal((await index.apply([c])).added.length, 0)
  assert.deepEqual((await index.pending()).map(m => m.hash), [b.hash])
  // A replay of a pruned envelope stays pruned.
  assert.equal((await index.apply([mail(4, a.env)])).added.length, 0)
  // MAIL and its PRUNE in one batch.
  const d = mail(5)
  const both = await index.apply([d, { hash: randomEntryHash(), op: 'PRUNE', entries: [d.hash] }])
  assert.deepEqual(both.added, [])
  assert.deepEqual(both.pruned, [d.env])
})

test('the index survives a restart', async () => {
  const { path, index } = await freshIndex()
  const a = mail(1)
  await index.apply([a])
  await index.close()
  const reopened = await openMailboxIndex(path)
  assert.equal(await reopened.seen(a.hash), true)
  assert.deepEqual((await reopened.pending()).map(m => m.hash), [a.hash])
  await reopened.close()
})
