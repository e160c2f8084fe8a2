import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hostAddrs, openOwnerHosts } from '../../src/home/owner-hosts.ts'
import { verifyCard } from '../../src/hosting/card.ts'
import { verifyGrant } from '../../src/hosting/grant.ts'
import { createIdentity } from '../../src/identity/identity.ts'

test('owner hosts: each grant and revoke re-signs the card; grants verify for their host; a changed difficulty re-signs', async () => {
  const home = await mkdtemp(join(tmpdir(), 'ipms-hosts-'))
  try {
    const [owner, a, b] = await Promise.all([createIdentity(), createIdentity(), createIdentity()])
    let signs = 0
    const hosts = openOwnerHosts(home, { peerId: owner.peerId, bits: 20, signer: async () => { signs++; return owner } })
    const empty = await hosts.card()
    assert.equal(empty.card.hosts.length, 0)
    assert.equal((await hosts.card()).text, empty.text, 'the card is kept, not re-signed on every read')
    const first = await hosts.grant(a.peerId, [`/ip4/127.0.0.1/tcp/4100/p2p/${a.peerId}`], { ttlMs: 60_000 })
    assert.deepEqual(first.host.addrs, ['/ip4/127.0.0.1/tcp/4100'], '/p2p is kept apart, in the card\'s peer field')
    assert.equal(verifyGrant(first.host.grant, { host: a.peerId }).expires, first.host.expires)
    await hosts.grant(b.peerId, ['/dns4/host.example/tcp/4100'])
    const card = verifyCard((await hosts.card()).text, { owner: owner.peerId })
    assert.deepEqual(card.hosts.map(h => h.peer), [a.peerId, b.peerId])
    assert.equal(card.bits, 20)
    const revoked = await hosts.revoke(a.peerId)
    assert.deepEqual(verifyCard(revoked.card).hosts.map(h => h.peer), [b.peerId])
    await assert.rejects(hosts.revoke(a.peerId), { code: 'ERR_NOT_FOUND' })
    await assert.rejects(hosts.grant(owner.peerId, ['/ip4/127.0.0.1/tcp/1']), { code: 'ERR_INVALID_ARGUMENT' })
    const harder = openOwnerHosts(home, { peerId: owner.peerId, bits: 22, signer: async () => owner })
    assert.equal((await harder.card()).card.bits, 22)
    assert.ok(signs >= 4)
  } finally {
    await rm(home, { recursive: true, force: true })
  }
})

test('host addresses: at least one, multiaddrs only, a /p2p must name the host', async () => {
  const [a, b] = await Promise.all([createIdentity(), createIdentity()])
  assert.throws(() => hostAddrs(a.peerId, []), { code: 'ERR_INVALID_ARGUMENT' })
  assert.throws(() => hostAddrs(a.peerId, ['garbage']), /not a multiaddr/)
  assert.throws(() => hostAddrs(a.peerId, [`/ip4/127.0.0.1/tcp/1/p2p/${b.peerId}`]), /is for 12D3KooW\w+, not for the host/)
})
