/**
 * The daemon's local API (src/api/, docs/API.md) on a real daemon in a temporary home, over the
 * real Unix socket and TCP listener: the files and their modes, the cookie (401 and nothing done),
 * routes and methods (404, 405), body limits (413), the TCP listener's Host and Origin checks (403
 * before any work), each read route's answer, and the files removed at stop.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDaemon, type Daemon } from '../../src/daemon/daemon.ts'
import { parseConfig } from '../../src/home/config.ts'
import { openContacts } from '../../src/home/contacts.ts'
import { createIdentity, type Identity } from '../../src/identity/index.ts'
import { callApi, type ApiTarget } from '../helpers/api.ts'

let root: string
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-api-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777

async function solo (name: string, configFile: Record<string, unknown> = {}): Promise<{ daemon: Daemon, home: string, identity: Identity, api: ApiTarget }> {
  const identity = await createIdentity()
  const home = await mkdtemp(join(root, `${name}-`))
  const daemon = await startDaemon({ home, identity, config: parseConfig({ bits: 8, dht: false, ...configFile }) })
  const cookie = await readFile(join(home, 'api.cookie'), 'utf8')
  return { daemon, home, identity, api: { socket: join(home, 'api.sock'), cookie } }
}

test('the socket, api and api.cookie are 0600; a request without the cookie, or with a wrong one, is refused 401 and does nothing; the files go at stop', async () => {
  const { daemon, home, identity, api } = await solo('auth')
  try {
    assert.equal(await mode(join(home, 'api.sock')), 0o600)
    assert.equal(await mode(join(home, 'api')), 0o600)
    assert.equal(await mode(join(home, 'api.cookie')), 0o600)
    assert.match(api.cookie!, /^[0-9a-f]{64}$/)
    assert.deepEqual(JSON.parse(await readFile(join(home, 'api'), 'utf8')), { v: 1, socket: join(home, 'api.sock'), pid: process.pid })
    assert.deepEqual(daemon.api, { v: 1, socket: join(home, 'api.sock'), pid: process.pid })

    const id = await callApi(api, { path: '/api/v1/id' })
    assert.equal(id.status, 200)
    assert.deepEqual(id.json, { ok: true, ...daemon.id(), hosts: await daemon.hosts() })
    assert.equal(id.json.peerId, identity.peerId)

    const card = (await daemon.card()).text
    const send = { to: card, subject: 'no', body: 'must not be sent' }
    const wrong = `${api.cookie!.slice(0, 63)}${api.cookie!.endsWith('0') ? '1' : '0'}`
    for (const cookie of [undefined, wrong, '', 'x'.repeat(64)]) {
      const target = { socket: api.socket, cookie }
      const answer = await callApi(target, { method: 'POST', path: '/api/v1/send', body: send })
      assert.equal(answer.status, 401, `cookie ${String(cookie)}`)
      assert.equal(answer.json.ok, false)
      assert.equal(answer.json.error.code, 'ERR_UNAUTHORIZED')
      assert.equal((await callApi(target, { path: '/api/v1/id' })).status, 401)
      assert.equal((await callApi(target, { path: '/api/v1/nowhere' })).status, 401, 'no route is told before the cookie')
    }
    const last = daemon.events.last()
    assert.deepEqual(await daemon.outbox(), [], 'nothing was sent or stored')
    const events = daemon.events.since(0)
    assert.ok(Array.isArray(events))
    assert.deepEqual(events.filter(e => e.type === 'sent' || e.type === 'outbox'), [])

    // Routes and methods; state-changing routes are POST only.
    const sync = await callApi(api, { path: '/api/v1/sync' })
    assert.equal(sync.status, 405)
    assert.equal(sync.headers.allow, 'POST')
    assert.equal(sync.json.error.code, 'ERR_METHOD_NOT_ALLOWED')
    assert.equal((await callApi(api, { path: '/api/v1/send' })).status, 405)
    assert.equal((await callApi(api, { method: 'POST', path: '/api/v1/id' })).status, 405)
    const missing = await callApi(api, { path: '/api/v1/nowhere' })
    assert.equal(missing.status, 404)
    assert.equal(missing.json.error.code, 'ERR_NOT_FOUND')
    assert.equal((await callApi(api, { path: '/api/v2/id' })).status, 404)

    // Bodies: at most 64 KiB (8 MiB for send), JSON objects only, known fields only.
    const big = await callApi(api, { method: 'POST', path: '/api/v1/outbox/retry', body: { force: true, pad: 'x'.repeat(70 * 1024) } })
    assert.equal(big.status, 413)
    assert.equal(big.json.error.code, 'ERR_TOO_LARGE')
    const bigSend = await callApi(api, { method: 'POST', path: '/api/v1/send', body: { to: card, body: 'x'.repeat(8 * 1024 * 1024 + 1) } })
    assert.equal(bigSend.status, 413)
    assert.equal((await callApi(api, { method: 'POST', path: '/api/v1/outbox/retry', body: '[1]' })).status, 400)
    assert.equal((await callApi(api, { method: 'POST', path: '/api/v1/outbox/retry', body: '{"force":' })).status, 400)
    const typo = await callApi(api, { method: 'POST', path: '/api/v1/outbox/retry', body: { forse: true } })
    assert.equal(typo.status, 400)
    assert.match(typo.json.error.message, /Unknown field "forse"/)
    const noTo = await callApi(api, { method: 'POST', path: '/api/v1/send', body: { body: 'hi' } })
    assert.equal(noTo.status, 400)
    assert.equal(noTo.json.error.code, 'ERR_INVALID_ARGUMENT')
    const unknown = await callApi(api, { method: 'POST', path: '/api/v1/send', body: { to: 'nobody', body: 'hi' } })
    assert.equal(unknown.status, 404, 'refused before the stream began: a plain answer')
    assert.deepEqual(unknown.json.error.code, 'ERR_UNKNOWN_RECIPIENT')
    assert.equal(daemon.events.last(), last, 'refused requests leave no event')

    // Each read route's answer.
    await openContacts(home).add('me', card)
    assert.deepEqual((await callApi(api, { path: '/api/v1/card' })).json, { ok: true, card, owner: identity.peerId, bits: 8, hosts: [], ts: (await daemon.card()).card.ts })
    assert.deepEqual((await callApi(api, { path: '/api/v1/hosts' })).json, { ok: true, hosts: [] })
    assert.deepEqual((await callApi(api, { path: '/api/v1/hosted' })).json, { ok: true, hosted: [], skipped: [] })
    const contacts = (await callApi(api, { path: '/api/v1/contacts' })).json
    assert.deepEqual(contacts.contacts.map((c: { name: string, peer: string }) => [c.name, c.peer]), [['me', identity.peerId]])
    assert.deepEqual(contacts.issued, [])
    assert.deepEqual((await callApi(api, { path: '/api/v1/mail' })).json, { ok: true, mail: [] })
    const noMail = await callApi(api, { path: '/api/v1/mail/1' })
    assert.equal(noMail.status, 404)
    assert.equal(noMail.json.error.code, 'ERR_NOT_FOUND')
    assert.equal((await callApi(api, { path: '/api/v1/mail/%E0%A4%A' })).status, 400)
    assert.deepEqual((await callApi(api, { path: '/api/v1/outbox' })).json, { ok: true, outbox: [] })
    assert.deepEqual((await callApi(api, { method: 'POST', path: '/api/v1/outbox/retry', body: { force: true, timeoutMs: 1000 } })).json, { ok: true, delivered: [], failed: [], gaveUp: [], busy: [], waiting: [] })
    assert.equal(id.json.encrypted, false, 'an identity not read from the home is not an encrypted key file')
  } finally {
    await daemon.stop()
  }
  for (const name of ['api', 'api.cookie', 'api.sock']) await assert.rejects(stat(join(home, name)), { code: 'ENOENT' }, `${name} removed at stop`)
})

test('the changing routes: contacts, hosts grant/revoke, hosted accept, mail delete — fields checked (400, nothing done), answers, events', async () => {
  const { daemon, home, identity, api } = await solo('changes')
  const [bob, friend] = await Promise.all([createIdentity(), createIdentity()])
  try {
    const post = async (path: string, body: unknown): Promise<{ status: number, json: any }> => await callApi(api, { method: 'POST', path: `/api/v1${path}`, body })
    const last = daemon.events.last()
    // Each bad body: 400 ERR_INVALID_ARGUMENT and nothing written.
    const bad: Array<[string, unknown, RegExp]> = [
      ['/contacts/add', { name: 'bob' }, /"address" is required/],
      ['/contacts/add', { name: 5, address: bob.peerId }, /"name" must be/],
      ['/contacts/add', { name: 'bob', address: bob.peerId, force: 'yes' }, /"force" must be true or false/],
      ['/contacts/add', { name: 'bob', address: bob.peerId, nick: 'b' }, /Unknown field "nick"/],
      ['/contacts/add', { name: 'x'.repeat(65), address: bob.peerId }, /cannot be a contact name: use 1 to 64/],
      ['/contacts/add', { name: 'x'.repeat(257), address: bob.peerId }, /"name" must be/],
      ['/contacts/rm', {}, /"name" is required/],
      ['/contacts/pass', { name: 'bob', ttlMs: -1 }, /"ttlMs" must be a lifetime/],
      ['/contacts/pass', { name: 'bob', ttlMs: 1.5 }, /"ttlMs" must be a lifetime/],
      ['/hosts/grant', { peer: friend.peerId, addrs: '/ip4/127.0.0.1/tcp/9' }, /"addrs" must be a list/],
      ['/hosts/grant', { peer: friend.peerId, addrs: Array(9).fill('/ip4/127.0.0.1/tcp/9') }, /"addrs" must be a list of at most 8/],
      ['/hosts/grant', { peer: friend.peerId, addrs: [7] }, /"addrs" must be a list/],
      ['/hosts/grant', { addrs: ['/ip4/127.0.0.1/tcp/9'] }, /"peer" is required/],
      ['/hosts/revoke', { peer: ['x'] }, /"peer" must be/],
      ['/hosted/accept', { grant: 'ipmsgrantx', bits: 99 }, /"bits" must be a difficulty from 0 to 40/],
      ['/hosted/accept', {}, /"grant" is required/],
      ['/mail/1/delete', { really: true }, /Unknown field "really"/]
    ]
    for (const [path, body, message] of bad) {
      const answer = await post(path, body)
      assert.equal(answer.status, 400, `${path} ${JSON.stringify(body).slice(0, 80)}: ${JSON.stringify(answer.json)}`)
      assert.equal(answer.json.error.code, 'ERR_INVALID_ARGUMENT')
      assert.match(answer.json.error.message, message)
    }
    assert.equal((await callApi(api, { path: '/api/v1/contacts/add' })).status, 405, 'POST only')
    assert.deepEqual(await daemon.contacts(), [])
    assert.deepEqual(await daemon.hosts(), [])
    assert.equal(daemon.events.last(), last, 'refused requests leave no event')
    // Records that do not verify: their own codes.
    assert.equal((await post('/hosted/accept', { grant: 'ipmsgrantx' })).json.error.code, 'ERR_INVALID_RECORD')
    assert.equal((await post('/contacts/add', { name: 'bob', address: 'not-a-peer' })).json.error.code, 'ERR_INVALID_PEER_ID')
    assert.equal((await post('/contacts/rm', { name: 'bob' })).status, 404)
    assert.equal((await post('/mail/zzzzzzzz/delete', {})).status, 404)

    // What works: each answer is what the CLI prints with --json.
    const added = await post('/contacts/add', { name: 'bob', address: bob.peerId })
    assert.equal(added.status, 200)
    assert.equal(added.json.contact.peer, bob.peerId)
    assert.equal((await post('/contacts/add', { name: 'bob', address: friend.peerId })).json.error.code, 'ERR_CONTACT_EXISTS')
    const pass = await post('/contacts/pass', { name: 'bob', ttlMs: 86_400_000 })
    assert.equal(pass.status, 200)
    assert.equal(pass.json.to, 'bob')
    assert.equal(pass.json.expires - pass.json.issued, 86_400_000)
    assert.equal((await openContacts(home).issued()).length, 1)
    const granted = await post('/hosts/grant', { peer: friend.peerId, addrs: ['/ip4/127.0.0.1/tcp/9'], ttlMs: 3_600_000 })
    assert.equal(granted.status, 200)
    assert.equal(granted.json.host, friend.peerId)
    assert.equal(granted.json.accept, `ipms host accept ${String(granted.json.grant)} --card ${String(granted.json.card)}`)
    assert.equal((await daemon.card()).text, granted.json.card)
    const revoked = await post('/hosts/revoke', { peer: friend.peerId })
    assert.equal(revoked.status, 200)
    assert.equal(revoked.json.expires, granted.json.expires)
    assert.equal((await post('/hosts/revoke', { peer: friend.peerId })).status, 404)
    assert.equal((await post('/contacts/rm', { name: 'bob' })).json.contact.name, 'bob')

    // A friend's grant for this daemon: served before the answer, with a `hosting` event.
    const { createGrant, encodeGrant } = await import('../../src/hosting/grant.ts')
    const grant = encodeGrant(createGrant(friend, identity.peerId))
    const accepted = await post('/hosted/accept', { grant, bits: 8 })
    assert.equal(accepted.status, 200, JSON.stringify(accepted.json))
    assert.equal(accepted.json.owner, friend.peerId)
    const hosted = await daemon.hosted()
    assert.deepEqual(hosted.map(h => h.owner), [friend.peerId])
    assert.equal(hosted[0]!.inbox, accepted.json.inbox)
    const events = daemon.events.since(last)
    assert.ok(Array.isArray(events) && events.some(e => e.type === 'hosting' && e.data.owner === friend.peerId))
    const otherHost = await createIdentity()
    const notForUs = encodeGrant(createGrant(friend, otherHost.peerId))
    const refused = await post('/hosted/accept', { grant: notForUs })
    assert.equal(refused.status, 422, JSON.stringify(refused.json))
  } finally {
    await daemon.stop()
  }
  for (const name of ['api', 'api.cookie', 'api.sock']) await assert.rejects(stat(join(home, name)), { code: 'ENOENT' }, `${name} removed at stop`)
})

test('the TCP listener (apiListen): a rebinding Host or a foreign Origin is refused 403 before any work; the right ones pass, with the cookie', async () => {
  const { daemon, api } = await solo('tcp', { apiListen: '127.0.0.1:0' })
  try {
    assert.match(daemon.api?.tcp ?? '', /^http:\/\/127\.0\.0\.1:\d+$/)
    const tcp: ApiTarget = { tcp: daemon.api!.tcp, cookie: api.cookie }
    const port = new URL(daemon.api!.tcp!).port
    const card = (await daemon.card()).text
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      const ok = await callApi(tcp, { path: '/api/v1/id', headers: { Host: host } })
      assert.equal(ok.status, 200, host)
      assert.equal(ok.json.peerId, daemon.id().peerId)
    }
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
      assert.equal((await callApi(tcp, { path: '/api/v1/id', headers: { Origin: origin } })).status, 200, origin)
    }
    const before = daemon.events.last()
    for (const headers of [{ Host: `evil.example:${port}` }, { Host: 'localhost' }, { Host: `127.0.0.1:${Number(port) + 1}` }, { Origin: 'http://evil.example' }, { Origin: `https://127.0.0.1:${port}` }, { Origin: 'null' }] as Array<Record<string, string>>) {
      const answer = await callApi(tcp, { method: 'POST', path: '/api/v1/send', body: { to: card, body: 'must not go' }, headers })
      assert.equal(answer.status, 403, JSON.stringify(headers))
      assert.equal(answer.json.error.code, 'ERR_FORBIDDEN')
    }
    assert.equal(daemon.events.last(), before, 'nothing done')
    assert.deepEqual(await daemon.outbox(), [])
    assert.equal((await callApi({ tcp: tcp.tcp }, { path: '/api/v1/id' })).status, 401, 'the cookie is still required')
    // The Unix socket takes no Host check (curl sends Host: ipms).
    assert.equal((await callApi(api, { path: '/api/v1/id', headers: { Host: 'ipms' } })).status, 200)
    // A port already taken: the daemon does not start, and says which setting to change.
    const identity = await createIdentity()
    const home = await mkdtemp(join(root, 'taken-'))
    await assert.rejects(startDaemon({ home, identity, config: parseConfig({ bits: 8, dht: false, apiListen: `127.0.0.1:${port}` }) }), { code: 'ERR_CONFIG', message: /apiListen/ })
    for (const name of ['api', 'api.cookie', 'api.sock']) await assert.rejects(stat(join(home, name)), { code: 'ENOENT' })
  } finally {
    await daemon.stop()
  }
})
