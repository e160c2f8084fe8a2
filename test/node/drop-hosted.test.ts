/**
 * `ipms host rm <owner>` (node/drop-hosted.ts, stores/orbitdb/drop-inbox.ts): every key and block of that
 * inbox gone, its grant too, and nothing of any other inbox; refused while a node runs on the home.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Level } from 'level'
import { CID } from 'multiformats/cid'
import { createGrant, encodeGrant } from '../../src/hosting/grant.ts'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { saveIdentity } from '../../src/identity/keystore.ts'
import { openMail } from '../../src/mail/seal.ts'
import { HOME_BLOCKS_DIR, HOME_DATASTORE_DIR } from '../../src/node/create-node.ts'
import { dropHostedInbox } from '../../src/node/drop-hosted.ts'
import { hostingDirectory, keepGrant, listKeptGrants } from '../../src/node/hosting.ts'
import { HOME_INBOXES_DIR, inboxPrefix } from '../../src/stores/orbitdb/inbox-store.ts'
import { openInbox, type Inbox } from '../../src/stores/orbitdb/open-inbox.ts'
import { IpmsError } from '../../src/errors.ts'
import { EXIT } from '../../src/cli/exit-codes.ts'
import { ipms, startDaemon } from '../../examples/ipms-cli.ts'
import { makeTempHome, startTestNode } from '../helpers/nodes.ts'
import { mailPayload } from '../helpers/inbox.ts'
import { putMail, stampedMail } from '../helpers/replicas.ts'

const BITS = 0
const homes: string[] = []
after(async () => { await Promise.all(homes.map(async h => await rm(h, { recursive: true, force: true }))) })

/** Every key of the LevelDB at `path`. */
async function keysOf (path: string): Promise<Set<string>> {
  const db = new Level<string, Uint8Array>(path, { valueEncoding: 'view' })
  await db.open({ createIfMissing: false })
  try {
    return new Set(await db.keys().all())
  } finally {
    await db.close()
  }
}
const stores = [HOME_INBOXES_DIR, HOME_BLOCKS_DIR, HOME_DATASTORE_DIR]
const snapshot = async (home: string): Promise<Map<string, Set<string>>> => new Map(await Promise.all(stores.map(async s => [s, await keysOf(join(home, s))] as const)))

/** A host home keeping carol's and dave's inboxes, with mail in each (one of carol's pruned, one envelope in both). */
async function hostHome (): Promise<{ home: string, me: Identity, carol: Identity, dave: Identity, alice: Identity, carolAddress: string, daveAddress: string, shared: string }> {
  const home = await makeTempHome('ipms-host-rm-')
  homes.push(home)
  const [me, carol, dave, alice] = await Promise.all([createIdentity(), createIdentity(), createIdentity(), createIdentity()])
  await saveIdentity(home, me)
  for (const owner of [carol, dave]) await keepGrant(home, me.peerId, encodeGrant(createGrant(owner, me.peerId)), { bits: BITS })
  const node = await startTestNode({ home, identity: me })
  let carolInbox: Inbox | undefined
  let daveInbox: Inbox | undefined
  try {
    carolInbox = await openInbox(node.node.orbitdb, carol.peerId, BITS)
    daveInbox = await openInbox(node.node.orbitdb, dave.peerId, BITS)
    const first = await putMail(carolInbox, alice, 'carol 1')
    for (let i = 2; i <= 3; i++) await putMail(carolInbox, alice, `carol ${i}`)
    await carolInbox.prune([first.hash], carol.seed)
    for (let i = 1; i <= 2; i++) await putMail(daveInbox, alice, `dave ${i}`)
    // The same envelope bytes delivered to both (a host cannot tell whose they are).
    const sharedMail = await stampedMail(alice, dave.peerId, BITS, 'dave shared')
    await daveInbox.putEnvelope(sharedMail.mail.env, sharedMail.envelope)
    await daveInbox.add(sharedMail.mail)
    const copy = mailPayload(carolInbox.address, BITS, { envelopeCid: CID.parse(sharedMail.mail.env), size: sharedMail.envelope.byteLength })
    await carolInbox.putEnvelope(copy.env, sharedMail.envelope)
    await carolInbox.add(copy)
    return { home, me, carol, dave, alice, carolAddress: carolInbox.address, daveAddress: daveInbox.address, shared: sharedMail.mail.env }
  } finally {
    await carolInbox?.close()
    await daveInbox?.close()
    await node.cleanup()
  }
}

test('host rm drops every key and block of one inbox and its grant; another inbox keeps every key and block, and still reads', async () => {
  const { home, me, carol, dave, alice, carolAddress, daveAddress, shared } = await hostHome()
  const before = await snapshot(home)

  const dropped = await dropHostedInbox(home, carol.peerId)
  assert.equal(dropped.inbox, carolAddress)
  assert.equal(dropped.shared, 1, 'the envelope dave\'s inbox carries too is kept')
  assert.equal(dropped.entries, 5, 'three MAIL entries, a PRUNE and the copy of the shared mail')
  assert.equal(dropped.envelopes, 3, 'every envelope of carol\'s mail (the pruned one gone already)')
  const after = await snapshot(home)

  // The inbox store: no key of carol's inbox is left, every key of dave's is.
  const inboxKeys = (set: Set<string>, address: string): string[] => [...set].filter(k => k.startsWith(inboxPrefix(address)))
  assert.ok(inboxKeys(before.get(HOME_INBOXES_DIR)!, carolAddress).length > 10)
  assert.deepEqual(inboxKeys(after.get(HOME_INBOXES_DIR)!, carolAddress), [])
  assert.deepEqual(after.get(HOME_INBOXES_DIR), new Set([...before.get(HOME_INBOXES_DIR)!].filter(k => !k.startsWith(inboxPrefix(carolAddress)))))
  // Blocks and pins: exactly carol's are gone (2 records of pins per block), nothing else.
  const gone = (store: string): number => [...before.get(store)!].filter(k => !after.get(store)!.has(k)).length
  for (const store of [HOME_BLOCKS_DIR, HOME_DATASTORE_DIR]) {
    assert.ok([...after.get(store)!].every(k => before.get(store)!.has(k)), `nothing new in ${store}`)
  }
  assert.equal(gone(HOME_BLOCKS_DIR), dropped.entries + dropped.envelopes - 1, 'every block of carol\'s, but the pruned envelope deleted before')
  assert.equal(gone(HOME_DATASTORE_DIR), 2 * (dropped.entries + dropped.envelopes - 1))
  assert.deepEqual((await listKeptGrants(home)).map(k => 'owner' in k ? k.owner : k.file), [dave.peerId])
  assert.deepEqual(await readdir(hostingDirectory(home)), [`${dave.peerId}.json`])

  // Dave's inbox opens and reads every mail, the shared envelope included.
  const node = await startTestNode({ home, identity: me })
  try {
    const inbox = await openInbox(node.node.orbitdb, dave.peerId, BITS)
    assert.equal(inbox.address, daveAddress)
    const bodies: string[] = []
    for (const mail of await inbox.pending()) {
      const opened = openMail((await inbox.getEnvelope(mail.env))!, { identity: dave, inbox: inbox.address })
      assert.equal(opened.from, alice.peerId)
      bodies.push(opened.body)
    }
    assert.deepEqual(bodies.sort(), ['dave 1', 'dave 2', 'dave shared'])
    assert.equal(await inbox.hasEnvelope(shared), true)
    await inbox.close()
  } finally {
    await node.cleanup()
  }

  await assert.rejects(dropHostedInbox(home, carol.peerId), (err: IpmsError) => err.code === 'ERR_NOT_FOUND', 'a second rm: not kept here any more')
})

test('ipms host rm: exit 75 while a node with no API runs on the home, nothing dropped; exit 67 for an owner not kept here; through a running daemon it stops serving the inbox and drops it', async () => {
  const { home, me, carol, dave, carolAddress, daveAddress } = await hostHome()
  const node = await startTestNode({ home, identity: me })
  try {
    const busy = await ipms(home, ['host', 'rm', carol.peerId])
    assert.equal(busy.code, EXIT.HOME_IN_USE, busy.stderr)
    assert.match(busy.stderr, /in use/)
  } finally {
    await node.cleanup()
  }
  assert.equal((await listKeptGrants(home)).length, 2, 'both grants still kept')
  const unknown = await ipms(home, ['host', 'rm', (await createIdentity()).peerId])
  assert.equal(unknown.code, EXIT.NOT_FOUND, unknown.stderr)
  assert.match(unknown.stderr, /ipms host list/)

  const before = await snapshot(home)
  const running = await startDaemon(home)
  try {
    // Served first (a report opens it), then dropped by the daemon itself.
    assert.equal((await ipms(home, ['host', 'list', '--json'])).json.inboxes.length, 2)
    const done = await ipms(home, ['--json', 'host', 'rm', carol.peerId])
    assert.equal(done.code, 0, done.stderr)
    assert.deepEqual([done.json.owner, done.json.inbox, done.json.entries, done.json.envelopes, done.json.shared], [carol.peerId, carolAddress, 5, 3, 1])
    await running.next(e => e.event === 'host-dropped' && e.owner === carol.peerId)
    assert.deepEqual((await ipms(home, ['host', 'list', '--json'])).json.inboxes.map((i: { owner: string }) => i.owner), [dave.peerId])
    const again = await ipms(home, ['host', 'rm', carol.peerId])
    assert.equal(again.code, EXIT.NOT_FOUND, again.stderr)
    const own = await ipms(home, ['host', 'rm', me.peerId])
    assert.equal(own.code, EXIT.USAGE, own.stderr)
  } finally {
    assert.equal(await running.stop(), 0)
  }
  const after = await snapshot(home)
  const inboxKeys = (set: Set<string>, address: string): string[] => [...set].filter(k => k.startsWith(inboxPrefix(address)))
  assert.deepEqual(inboxKeys(after.get(HOME_INBOXES_DIR)!, carolAddress), [])
  assert.deepEqual(inboxKeys(after.get(HOME_INBOXES_DIR)!, daveAddress), inboxKeys(before.get(HOME_INBOXES_DIR)!, daveAddress))
  assert.deepEqual((await listKeptGrants(home)).map(k => 'owner' in k ? k.owner : k.file), [dave.peerId])
})
