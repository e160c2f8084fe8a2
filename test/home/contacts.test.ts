import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openContacts } from '../../src/home/contacts.ts'
import { createCard, encodeCard } from '../../src/hosting/card.ts'
import { createPass, encodePass, verifyPass } from '../../src/hosting/pass.ts'
import { createIdentity } from '../../src/identity/identity.ts'

test('contacts: add by card or peer-id, resolve by name, card or peer-id, newer cards win, rm', async () => {
  const home = await mkdtemp(join(tmpdir(), 'ipms-contacts-'))
  try {
    const contacts = openContacts(home)
    const [bob, host, carol] = await Promise.all([createIdentity(), createIdentity(), createIdentity()])
    const oldCard = createCard(bob, [{ peer: host.peerId, addrs: ['/ip4/127.0.0.1/tcp/1'] }], 20, 1000)
    const newCard = createCard(bob, [], 20, 2000)
    assert.equal((await contacts.add('bob', encodeCard(newCard))).card, encodeCard(newCard))
    // An older card does not replace a newer one.
    assert.equal((await contacts.add('bob', encodeCard(oldCard))).card, encodeCard(newCard))
    await contacts.add('carol', carol.peerId)
    assert.deepEqual((await contacts.list()).map(c => c.name), ['bob', 'carol'])
    assert.equal((await contacts.resolve('bob')).card?.ts, 2000)
    assert.equal((await contacts.resolve(bob.peerId)).contact?.name, 'bob')
    assert.equal((await contacts.resolve(encodeCard(oldCard))).contact?.name, 'bob')
    assert.equal((await contacts.resolve('carol')).card, undefined)
    assert.equal(await contacts.nameOf(carol.peerId), 'carol')
    await assert.rejects(contacts.add('carol', bob.peerId), { code: 'ERR_CONTACT_EXISTS' })
    assert.equal((await contacts.add('carol', bob.peerId, { replace: true })).peer, bob.peerId)
    await assert.rejects(contacts.resolve('dave'), { code: 'ERR_UNKNOWN_RECIPIENT' })
    await assert.rejects(contacts.resolve('12D3KooWnotapeerid'), { code: 'ERR_INVALID_PEER_ID' })
    // Names are any printable text (`1abc`, `a b`, `Zoë`), but never blank-edged, an option, an address or a control.
    for (const name of ['1abc', 'a b', 'Zoë']) assert.equal((await contacts.add(name, bob.peerId)).name, name)
    for (const name of ['', ' a', 'a ', '-a', 'a\u0000b', 'ipmscardx', '12D3KooWx', 'x'.repeat(65)]) await assert.rejects(contacts.add(name, bob.peerId), { code: 'ERR_INVALID_ARGUMENT' }, name)
    await contacts.learnCard(createCard(bob, [], 20, 3000))
    assert.equal((await contacts.resolve('bob')).card?.ts, 3000)
    assert.equal((await contacts.remove('bob')).name, 'bob')
    await assert.rejects(contacts.remove('bob'), { code: 'ERR_NOT_FOUND' })
    await writeFile(join(home, 'contacts.json'), '{')
    await assert.rejects(contacts.list(), { code: 'ERR_CONFIG' })
  } finally {
    await rm(home, { recursive: true, force: true })
  }
})

test('passes: a contact keeps the pass its peer gave (checked, kept when the card changes); the owner lists the passes it gave', async () => {
  const home = await mkdtemp(join(tmpdir(), 'ipms-contacts-'))
  try {
    const contacts = openContacts(home)
    const [me, bob, carol] = await Promise.all([createIdentity(), createIdentity(), createIdentity()])
    const bobsPass = encodePass(createPass(bob, { ttlMs: 60_000 }))
    await assert.rejects(contacts.add('bob', carol.peerId, { pass: bobsPass }), { code: 'ERR_INVALID_RECORD' }, 'a pass of someone else')
    await assert.rejects(contacts.add('bob', bob.peerId, { pass: encodePass(createPass(bob, { ttlMs: 1, now: 1 })) }), { code: 'ERR_PASS_EXPIRED' })
    assert.equal((await contacts.add('bob', bob.peerId, { pass: bobsPass })).pass, bobsPass)
    assert.equal((await contacts.add('bob', encodeCard(createCard(bob, [], 20)))).pass, bobsPass, 'a new card keeps the pass')
    assert.equal((await contacts.resolve('bob')).contact?.pass, bobsPass)

    await assert.rejects(contacts.issuePass('dave', me), { code: 'ERR_NOT_FOUND' })
    await contacts.add('carol', carol.peerId)
    const { text, issued } = await contacts.issuePass('carol', me, { ttlMs: 60_000 })
    assert.equal(verifyPass(text, { owner: me.peerId }).expires, issued.expires)
    assert.deepEqual(await contacts.issued(), [issued])
    assert.equal(issued.to, 'carol')
    // Other changes keep the list of passes given.
    await contacts.remove('bob')
    assert.deepEqual(await contacts.issued(), [issued])
    await writeFile(join(home, 'contacts.json'), JSON.stringify({ v: 1, contacts: {}, issued: 'x' }))
    await assert.rejects(contacts.issued(), { code: 'ERR_CONFIG' })
  } finally {
    await rm(home, { recursive: true, force: true })
  }
})

test('contacts: changes at once in one process (a daemon learning a card while the API adds and passes) all land', async () => {
  const home = await mkdtemp(join(tmpdir(), 'ipms-contacts-'))
  try {
    const [owner, bob, host, ...people] = await Promise.all(Array.from({ length: 12 }, async () => await createIdentity()))
    await openContacts(home).add('bob', bob!.peerId)
    const newer = createCard(bob!, [{ peer: host!.peerId, addrs: ['/ip4/127.0.0.1/tcp/1'] }], 20, Date.now())
    // Two handles on the same file, as the daemon and its API routes each open one.
    const [a, b] = [openContacts(home), openContacts(home)]
    await Promise.all([
      ...people.map(async (p, i) => await (i % 2 === 0 ? a : b).add(`p${i}`, p.peerId)),
      a.learnCard(newer),
      b.issuePass('bob', owner!),
      a.issuePass('bob', owner!)
    ])
    const all = await openContacts(home).list()
    assert.deepEqual(all.map(c => c.name).sort(), ['bob', ...people.map((_, i) => `p${i}`)].sort())
    assert.equal(all.find(c => c.name === 'bob')!.card, encodeCard(newer))
    assert.equal((await openContacts(home).issued()).length, 2)
  } finally {
    await rm(home, { recursive: true, force: true })
  }
})
