/**
 * A home of the former layout (each inbox in three LevelDBs of its own; the committed fixture
 * test/fixtures/legacy-home, made by make-legacy-home.ts) opens under one store per home: its
 * inboxes' records are moved into `<home>/inboxes/` once, the old directories removed, and every
 * mail is read (stores/orbitdb/migrate-inboxes.ts).
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { chmod, cp, readFile, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeIdentityFile, loadIdentity } from '../../../src/identity/keystore.ts'
import type { Identity } from '../../../src/identity/identity.ts'
import { openMail } from '../../../src/mail/seal.ts'
import { startHomeNode } from '../../../src/node/home-node.ts'
import type { Inbox } from '../../../src/stores/orbitdb/open-inbox.ts'
import { HOME_INBOXES_DIR, inboxLevel, inboxStore, type InboxStore } from '../../../src/stores/orbitdb/inbox-store.ts'
import { LEGACY_INBOXES_DIR, migrateInboxes } from '../../../src/stores/orbitdb/migrate-inboxes.ts'
import { HOME_ORBITDB_DIR } from '../../../src/node/create-node.ts'
import { makeTempHome } from '../../helpers/nodes.ts'

const FIXTURE = join(import.meta.dirname, '..', '..', 'fixtures', 'legacy-home')

interface FixtureMail { hash: string, env: string, id: string, body: string }
interface Fixture {
  owner: string
  alice: string
  carol: { peerId: string, identityFile: string }
  own: { address: string, pruned: FixtureMail, pending: FixtureMail[] }
  hosted: { address: string, pending: FixtureMail[] }
}
const fixture = JSON.parse(await readFile(join(FIXTURE, 'fixture.json'), 'utf8')) as Fixture

const temps: string[] = []
after(async () => { await Promise.all(temps.map(async d => await rm(d, { recursive: true, force: true }))) })

/** A copy of the fixture's home, to open (the migration changes it). */
async function legacyHome (): Promise<string> {
  const dir = await makeTempHome('ipms-legacy-')
  temps.push(dir)
  await cp(join(FIXTURE, 'home'), join(dir, 'home'), { recursive: true })
  // Git checks files out 0644 whatever they were committed as: a key file must be 0600 to be read.
  await chmod(join(dir, 'home', 'identity.json'), 0o600)
  return join(dir, 'home')
}

const legacyDir = (home: string): string => join(home, HOME_ORBITDB_DIR, LEGACY_INBOXES_DIR)
const present = async (path: string): Promise<boolean> => await readdir(path).then(() => true, () => false)

/** Every pending mail of `inbox`, opened as `reader`: its bodies, sent by alice. */
async function readAll (inbox: Inbox, reader: Identity): Promise<Array<{ hash: string, body: string }>> {
  const read: Array<{ hash: string, body: string }> = []
  for (const mail of await inbox.pending()) {
    const bytes = await inbox.getEnvelope(mail.env)
    assert.ok(bytes !== undefined, `the envelope of ${mail.hash} is here`)
    const opened = openMail(bytes, { identity: reader, inbox: inbox.address })
    assert.equal(opened.from, fixture.alice)
    read.push({ hash: mail.hash, body: opened.body })
  }
  return read.sort((a, b) => a.body < b.body ? -1 : 1)
}

const expected = (mails: FixtureMail[]): Array<{ hash: string, body: string }> => mails.map(m => ({ hash: m.hash, body: m.body }))

/** Start the home, check what its inboxes hold, run `more` on it, stop. */
async function openHome (home: string, more?: (own: Inbox, owner: Identity) => Promise<void>): Promise<void> {
  const owner = await loadIdentity(home)
  const carol = await decodeIdentityFile(fixture.carol.identityFile)
  const started = await startHomeNode({ home, identity: owner })
  try {
    assert.equal(started.inbox.address, fixture.own.address)
    const hosted = await started.hosting.lease(fixture.hosted.address)
    assert.ok(hosted !== undefined, 'the hosted inbox is served')
    try {
      assert.deepEqual(await readAll(hosted.inbox, carol), expected(fixture.hosted.pending), 'every mail of the hosted inbox')
    } finally {
      hosted.release()
    }
    await more?.(started.inbox, owner)
  } finally {
    await started.stop()
  }
}

test('a home of the former layout opens with every mail, its old LevelDBs moved into one store and removed; a later copy of them is not moved again', async () => {
  const home = await legacyHome()
  const oldDirs = await readdir(legacyDir(home))
  assert.equal(oldDirs.length, 2, 'the fixture has two inboxes in the former layout')

  await openHome(home, async (own, owner) => {
    assert.deepEqual(await readAll(own, owner), expected(fixture.own.pending), 'every pending mail of the own inbox, the pruned one not')
    assert.equal(await own.hasEnvelope(fixture.own.pruned.env), false, 'the pruned mail\'s envelope stays deleted')
    assert.deepEqual(await own.firstEntry(fixture.own.pruned.env).then(f => f?.entry), fixture.own.pruned.hash, 'the pruned mail is still known (a replay of it appends nothing)')
    // Changed after the move: a second move would put the old records back over it.
    await own.prune([fixture.own.pending[0]!.hash], owner.seed)
  })
  assert.equal(await present(legacyDir(home)), false, 'the old directories are removed')
  assert.equal(await present(join(home, HOME_INBOXES_DIR)), true)

  // As if the process had died after the move's marker, before the old directories were removed.
  await cp(join(FIXTURE, 'home', HOME_ORBITDB_DIR, LEGACY_INBOXES_DIR), legacyDir(home), { recursive: true })
  await openHome(home, async (own, owner) => {
    assert.deepEqual(await readAll(own, owner), expected(fixture.own.pending.slice(1)), 'the mail pruned after the move stays pruned')
  })
  assert.equal(await present(legacyDir(home)), false, 'the old directories are removed again')
})

test('a move cut before its marker leaves the old LevelDBs the source of truth, and runs again at the next start', async () => {
  const home = await legacyHome()
  const db = inboxLevel(join(home, HOME_INBOXES_DIR))
  await db.open()
  const store = inboxStore(db)
  // The crash: the marker's write of the first inbox fails, after its records were copied.
  const crashing: InboxStore = {
    ...store,
    spaces: (address) => {
      const spaces = store.spaces(address)
      return { ...spaces, meta: { ...spaces.meta, batch: async () => { throw new Error('killed before the marker') } } }
    }
  }
  try {
    await assert.rejects(migrateInboxes(join(home, HOME_ORBITDB_DIR), crashing, { sync: true }), /killed before the marker/)
    assert.deepEqual((await readdir(legacyDir(home))).sort(), (await readdir(join(FIXTURE, 'home', HOME_ORBITDB_DIR, LEGACY_INBOXES_DIR))).sort(), 'the old directories are all still there')
    assert.equal(await store.spaces(fixture.own.address).meta.get('migrated'), undefined)
  } finally {
    await db.close()
  }
  await openHome(home, async (own, owner) => {
    assert.deepEqual(await readAll(own, owner), expected(fixture.own.pending))
  })
  assert.equal(await present(legacyDir(home)), false)
})
