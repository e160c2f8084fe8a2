import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inboxAddress } from '../../src/access/inbox-address.ts'
import { openInboxStore } from '../../src/stores/orbitdb/inbox-store.ts'
import { openMailboxIndex, type IndexedOp, type MailboxIndex, type MailboxIndexOptions } from '../../src/stores/mailbox-index.ts'
import { randomEntryHash, randomEnvelopeCid } from '../helpers/inbox.ts'

/** Any owner: the index lives in the key space of that owner's inbox. */
const OWNER = '12D3KooWM4zbSf3xseufu9MZ7vZjF4PskDWxDRgXGsxGaBLD4EuB'
const dirs: string[] = []
after(async () => { await Promise.all(dirs.map(async d => await rm(d, { recursive: true, force: true }))) })
type TestIndex = MailboxIndex & { close: () => Promise<void> }
/** The index of one inbox in an inbox store at `path` (its LevelDB closed with the index). */
async function indexAt (path: string, options: MailboxIndexOptions = {}): Promise<TestIndex> {
  const store = await openInboxStore(path)
  return Object.assign(await openMailboxIndex(store.spaces(inboxAddress(OWNER, 0)).mailbox, options), { close: store.close })
}
async function freshIndex (options: MailboxIndexOptions = {}): Promise<{ path: string, index: TestIndex }> {
  const dir = await mkdtemp(join(tmpdir(), 'ipms-index-'))
  dirs.push(dir)
  const path = join(dir, 'inboxes')
  return { path, index: await indexAt(path, options) }
}
const mail = (ts: number, env = randomEnvelopeCid().toString()): IndexedOp & { op: 'MAIL' } => ({ hash: randomEntryHash(), op: 'MAIL', env, size: 1120, ts })

test('MAIL entries become pending, most recently seen first; applying one twice changes nothing', async () => {
  let clock = 1000
  const { index } = await freshIndex({ now: () => clock })
  const [a, b, c] = [mail(1), mail(3), mail(2)]
  await index.apply([a])
  clock = 3000
  await index.apply([b])
  clock = 2000
  const result = await index.apply([c])
  assert.equal(result.added.length, 1)
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
  const [a, b] = [{ ...mail(1), held: 1120 }, { ...mail(2), held: 1120 }]
  await index.apply([a, b])
  const pruneA: IndexedOp = { hash: randomEntryHash(), op: 'PRUNE', entries: [a.hash] }
  const result = await index.apply([pruneA])
  assert.deepEqual(result.pruned, [a.env])
  assert.deepEqual((await index.pending()).map(m => m.hash), [b.hash])
  assert.equal(await index.pendingBytes(), b.size, 'the byte total follows the pending mail')
  assert.deepEqual(await index.garbage(), [a.env])
  await index.collected([a.env])
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

test('a PRUNE of 1,000 read mails reads the index in a few getMany, not five reads per mail (an owner reading 10,000 mails waited 14 s on them)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ipms-index-'))
  dirs.push(dir)
  const store = await openInboxStore(join(dir, 'inboxes'))
  try {
    const space = store.spaces(inboxAddress(OWNER, 0)).mailbox
    const mails = Array.from({ length: 1000 }, (_, i) => ({ ...mail(i), held: 1120 }))
    await (await openMailboxIndex(space)).apply(mails)
    // A fresh index (no caches) over the same keys, counting its reads one by one.
    let gets = 0
    const index = await openMailboxIndex({ ...space, get: async key => { gets++; return await space.get(key) } })
    gets = 0
    const result = await index.apply([{ hash: randomEntryHash(), op: 'PRUNE', entries: mails.map(m => m.hash) }])
    assert.equal(result.pruned.length, 1000)
    assert.deepEqual(await index.pending(), [])
    assert.equal(await index.pendingBytes(), 0)
    assert.ok(gets <= 10, `${gets} single reads for one PRUNE of 1,000 entries`)
  } finally {
    await store.close()
  }
})

test('the index survives a restart', async () => {
  const { path, index } = await freshIndex()
  const a = mail(1)
  await index.apply([a])
  await index.close()
  const reopened = await indexAt(path)
  assert.equal(await reopened.seen(a.hash), true)
  assert.deepEqual((await reopened.pending()).map(m => m.hash), [a.hash])
  await reopened.close()
})

test('a PRUNE naming any entry of an envelope prunes the envelope, whatever order the entries and the PRUNE come in', async () => {
  const prune = (...entries: string[]): IndexedOp => ({ hash: randomEntryHash(), op: 'PRUNE', entries })
  // Two hosts each appended an entry for one envelope (replicas: 2): whichever this replica saw
  // first is pending, and a PRUNE naming the other one still drops it.
  for (const order of ['first, replay, prune', 'replay, first, prune', 'prune, first, replay', 'first, prune, replay', 'all in one batch'] as const) {
    const { index } = await freshIndex()
    const first = { ...mail(1), held: 1120 }
    const replay = mail(1, first.env)
    const byOtherHost = prune(replay.hash)
    if (order === 'first, replay, prune') { await index.apply([first]); await index.apply([replay]); await index.apply([byOtherHost]) }
    if (order === 'replay, first, prune') { await index.apply([replay]); await index.apply([first]); await index.apply([byOtherHost]) }
    if (order === 'prune, first, replay') { await index.apply([byOtherHost]); await index.apply([first]); await index.apply([replay]) }
    if (order === 'first, prune, replay') { await index.apply([first]); await index.apply([byOtherHost]); await index.apply([replay]) }
    if (order === 'all in one batch') await index.apply([first, byOtherHost, replay])
    assert.deepEqual(await index.pending(), [], order)
    assert.equal(await index.pendingBytes(), 0, order)
    assert.equal(await index.wantsEnvelope(first.env), false, order)
    assert.deepEqual(await index.garbage(), [first.env], order)
    // A later entry carrying the pruned envelope never becomes pending.
    assert.deepEqual((await index.apply([mail(2, first.env)])).added, [], order)
    assert.deepEqual(await index.pending(), [], order)
    await index.close()
  }
})

test('the quota counts only envelopes held here: mail whose block never came costs nothing', async () => {
  const { index } = await freshIndex()
  // 64 entries claiming 4 MiB each, no envelope (a hostile co-host's, joined by sync).
  const claimed = Array.from({ length: 64 }, () => ({ ...mail(2 ** 53 - 2), size: 4 * 1024 * 1024 }))
  await index.apply(claimed)
  assert.equal((await index.pending()).length, 64)
  assert.equal(await index.pendingBytes(), 0)
  // An envelope stored with its entry counts its real bytes, one stored later (sync) when it comes.
  const withBlock = { ...mail(3), held: 2048 }
  await index.apply([withBlock])
  assert.equal(await index.pendingBytes(), 2048)
  assert.equal(await index.held(claimed[0]!.env, 1000), false)
  assert.equal(await index.pendingBytes(), 3048)
  assert.equal(await index.held(claimed[0]!.env, 1000), false, 'held twice counts once')
  assert.equal(await index.pendingBytes(), 3048)
  // A block stored before its entry counts once the entry comes.
  const early = mail(4)
  await index.held(early.env, 500)
  assert.equal(await index.pendingBytes(), 3048)
  await index.apply([early])
  assert.equal(await index.pendingBytes(), 3548)
  // Pruned: the bytes go; a block stored for a pruned envelope is queued for deletion again.
  await index.apply([{ hash: randomEntryHash(), op: 'PRUNE', entries: [claimed[0]!.hash, withBlock.hash] }])
  assert.equal(await index.pendingBytes(), 500)
  await index.collected(await index.garbage())
  assert.equal(await index.held(withBlock.env, 2048), true)
  assert.deepEqual(await index.garbage(), [withBlock.env])
  assert.equal(await index.pendingBytes(), 500)
  await index.close()
})

test('retention and order go by when this replica first saw an entry, not by its claimed ts', async () => {
  let clock = 1_000_000
  const { index } = await freshIndex({ now: () => clock })
  const absurd = { ...mail(2 ** 53 - 2), held: 100 }
  const past = { ...mail(1), held: 100 }
  await index.apply([absurd, past])
  clock += 60_000
  const later = mail(5)
  await index.apply([later])
  // The mail seen last comes first, whatever its ts; the two seen together keep the seen time.
  const pending = await index.pending()
  assert.equal(pending[0]!.hash, later.hash)
  assert.deepEqual(pending.map(m => m.seen), [clock, clock - 60_000, clock - 60_000])
  // Expiring what was first seen before the minute passed drops both, the far-future one included.
  const expired = await index.expire(clock - 1)
  assert.deepEqual(expired.sort(), [absurd.env, past.env].sort())
  assert.deepEqual((await index.pending()).map(m => m.hash), [later.hash])
  assert.equal(await index.pendingBytes(), 0)
  assert.deepEqual((await index.garbage()).sort(), [absurd.env, past.env].sort())
  await index.close()
})

test('the first entry of an envelope and when it was first seen survive a restart', async () => {
  const { path, index } = await freshIndex({ now: () => 1234 })
  const a = mail(1)
  await index.apply([a, mail(2, a.env)])
  assert.deepEqual(await index.firstEntry(a.env), { entry: a.hash, seen: 1234 })
  await index.apply([{ hash: randomEntryHash(), op: 'PRUNE', entries: [a.hash] }])
  await index.close()
  const reopened = await indexAt(path, { now: () => 9999 })
  assert.deepEqual(await reopened.firstEntry(a.env), { entry: a.hash, seen: 1234 }, 'pruned, it still answers')
  assert.equal(await reopened.firstEntry(randomEnvelopeCid().toString()), undefined)
  await reopened.close()
})

/** The figures `summary` must give, from the pending set itself. */
async function walked (index: MailboxIndex): Promise<{ count: number, bytes: number, oldest?: number, newest?: number }> {
  const pending = await index.pending() // newest first
  return { count: pending.length, bytes: await index.pendingBytes(), ...(pending.length === 0 ? {} : { oldest: pending[pending.length - 1]!.seen, newest: pending[0]!.seen }) }
}

test('the summary (count, bytes, oldest and newest first seen) stays what walking the pending set gives, through mail, replays, prunes, retention and restarts', async () => {
  let clock = 10_000
  const { path, index: first } = await freshIndex({ now: () => clock })
  let index: TestIndex = first
  assert.deepEqual(await index.summary(), { count: 0, bytes: 0 })
  // A seeded sequence (the same run every time): mail (some with their blocks, some replays of
  // earlier envelopes), prunes of a few pending mails (ends of the span among them), retention,
  // a clock that goes back once, and restarts.
  let seed = 7
  const next = (n: number): number => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) % n } // xorshift32
  const envs: string[] = []
  for (let step = 0; step < 120; step++) {
    clock += step === 60 ? -5_000 : 100 + next(1000)
    const kind = next(10)
    if (kind < 6) {
      const op = mail(clock, envs.length > 0 && next(4) === 0 ? envs[next(envs.length)] : undefined)
      envs.push(op.env)
      await index.apply([next(2) === 0 ? { ...op, held: 1000 + next(500) } : op])
    } else if (kind < 8) {
      const pending = await index.pending()
      if (pending.length === 0) continue
      const targets = [pending[0]!, pending[pending.length - 1]!, pending[next(pending.length)]!].slice(0, 1 + next(3))
      await index.apply([{ hash: randomEntryHash(), op: 'PRUNE', entries: targets.map(m => m.hash) }])
    } else if (kind < 9) {
      await index.expire(clock - 40_000)
    } else {
      await index.close()
      index = await indexAt(path, { now: () => clock })
    }
    assert.deepEqual(await index.summary(), await walked(index), `step ${step}`)
  }
  assert.ok((await index.summary()).count > 0, 'the run ends with mail pending')
  await index.close()
})

test('an index written before the summary existed (or with a damaged one) is counted from its keys, once; a fresh or tidy one walks nothing at opening', async () => {
  let clock = 50_000
  const { path, index } = await freshIndex({ now: () => clock })
  for (let i = 0; i < 5; i++) { clock += 1000; await index.apply([{ ...mail(clock), held: 700 }]) }
  const expected = await walked(index)
  await index.close()

  /** The index at `path` over a key space that counts the ranges walked. */
  const counted = async (): Promise<{ index: TestIndex, walks: () => number, space: { del: (key: string) => Promise<void>, put: (key: string, value: string) => Promise<void> } }> => {
    const store = await openInboxStore(path)
    const space = store.spaces(inboxAddress(OWNER, 0)).mailbox
    let walks = 0
    const watched = { ...space, keys: (range?: object) => { walks++; return space.keys(range) }, values: (range?: object) => { walks++; return space.values(range) }, entries: (range?: object) => { walks++; return space.entries(range) } }
    const opened = Object.assign(await openMailboxIndex(watched, { now: () => clock }), { close: store.close })
    return { index: opened, walks: () => walks, space: { del: async key => { await space.batch([{ type: 'del', key }]) }, put: async (key, value) => { await space.batch([{ type: 'put', key, value }]) } } }
  }

  // Written by this version: opening, the summary and the GC queue's check walk nothing.
  let run = await counted()
  assert.deepEqual(await run.index.summary(), expected)
  assert.deepEqual(await run.index.garbage(), [])
  assert.equal(run.walks(), 0, 'nothing walked')
  // As an index of the version before: no f!. Counted from the keys at opening, the GC queue walked once.
  await run.space.del('f!')
  await run.index.close()
  for (const damage of [undefined, 'not json', '{"n":-1,"g":false}', '{"n":2,"o":5,"g":false}', `{"n":1,"o":9,"l":3,"g":true}`, 'x'.repeat(300)]) {
    run = await counted()
    if (damage !== undefined) { await run.space.put('f!', damage); await run.index.close(); run = await counted() }
    assert.deepEqual(await run.index.summary(), expected, `f! ${damage ?? 'absent'}`)
    assert.deepEqual(await run.index.garbage(), [])
    assert.deepEqual(await run.index.garbage(), [])
    assert.equal(run.walks(), 2, `f! ${damage ?? 'absent'}: one walk of the pending set, one of the GC queue`)
    await run.index.close()
  }
  // The next batch writes the summary again (and the GC queue found empty): walked no more.
  run = await counted()
  assert.deepEqual(await run.index.garbage(), [])
  clock += 1000
  await run.index.apply([mail(clock)])
  await run.index.close()
  run = await counted()
  assert.deepEqual(await run.index.summary(), { ...expected, count: expected.count + 1, newest: clock })
  assert.deepEqual(await run.index.garbage(), [])
  assert.equal(run.walks(), 0)
  await run.index.close()
})

test('the GC queue is walked only while it may hold envelopes: after a prune until it is collected', async () => {
  const { index } = await freshIndex()
  const a = mail(1)
  await index.apply([{ ...a, held: 900 }])
  assert.deepEqual(await index.garbage(), [])
  await index.apply([{ hash: randomEntryHash(), op: 'PRUNE', entries: [a.hash] }])
  assert.deepEqual(await index.garbage(), [a.env], 'queued by the prune')
  assert.deepEqual(await index.garbage(), [a.env], 'still queued until collected')
  await index.collected([a.env])
  assert.deepEqual(await index.garbage(), [])
  // A block stored again for the pruned envelope is queued again.
  await index.held(a.env, 900)
  assert.deepEqual(await index.garbage(), [a.env])
  await index.close()
})

test('lacking: the envelopes of pending mail whose block is not recorded as held here', async () => {
  const { index } = await freshIndex()
  assert.deepEqual(await index.lacking(), [])
  const [withBlock, without, later, pruned] = [mail(1), mail(2), mail(3), mail(4)]
  await index.apply([{ ...withBlock, held: 900 }, without, later, pruned])
  assert.deepEqual((await index.lacking()).sort(), [without.env, later.env, pruned.env].sort())
  await index.held(later.env, 900)
  await index.apply([{ hash: randomEntryHash(), op: 'PRUNE', entries: [pruned.hash] }])
  assert.deepEqual(await index.lacking(), [without.env], 'held since, or pruned: not lacking')
  await index.close()
})
