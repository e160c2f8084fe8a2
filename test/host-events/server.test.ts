/**
 * A host's event-stream server (src/host-events/server.ts, peer-id-auth.ts) on 127.0.0.1 with a
 * feed the test drives and a clock it moves: Peer ID Auth (both flows of the spec, with the
 * client of @libp2p/http-peer-id-auth), the same refusal to strangers, wrong keys and unknown
 * inboxes, expired tokens, bounded heads, the limits, pings, Last-Event-ID.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { request, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http'
import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import { ClientInitiatedHandshake, ServerInitiatedHandshake, serverResponds, createServerChallenge } from '@libp2p/http-peer-id-auth'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { createHostFeed, type HostFeed } from '../../src/host-events/feed.ts'
import { createHostEventsServer, eventsPath, listenHostEvents, type HostEventsLimits, type HostEventsServer } from '../../src/host-events/server.ts'
import { httpTransport, openHostStream } from '../../src/host-events/client.ts'
import { bodyOf } from '../helpers/host-events.ts'

let hostKey: Identity, owner: Identity, stranger: Identity, unknown: Identity
before(async () => { [hostKey, owner, stranger, unknown] = await Promise.all([createIdentity(), createIdentity(), createIdentity(), createIdentity()]) })
const servers: HostEventsServer[] = []
after(async () => { for (const s of servers) await s.close() })

interface Served { url: string, host: string, port: number, feed: HostFeed, server: HostEventsServer, clock: { now: number } }

async function serve (options: { limits?: Partial<HostEventsLimits>, pingMs?: number, tokenTtlMs?: number } = {}): Promise<Served> {
  const feed = createHostFeed({ run: 'r1' })
  const clock = { now: Date.now() }
  const server = createHostEventsServer({ feed, privateKey: hostKey.privateKey, keeps: o => o === owner.peerId, now: () => clock.now, ...options })
  servers.push(server)
  const url = await listenHostEvents(server, { host: '127.0.0.1', port: 0 })
  const port = Number(new URL(url).port)
  return { url, host: `127.0.0.1:${port}`, port, feed, server, clock }
}

async function get (s: Served, path: string, headers: OutgoingHttpHeaders = {}, method = 'GET'): Promise<IncomingMessage> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: s.port, path, method, headers }, resolve)
    req.on('error', reject)
    req.end()
  })
}

/** A refusal as a client sees it: status, JSON body, the names of the auth headers. */
async function refusal (res: IncomingMessage): Promise<unknown> {
  return { status: res.statusCode, body: JSON.parse(await bodyOf(res)), challenge: res.headers['www-authenticate']?.replace(/"[^"]*"/g, '""') }
}

/** The package's client-initiated handshake to `path` as `who`: the final response. */
async function handshake (s: Served, who: Identity, path: string): Promise<IncomingMessage> {
  const hs = new ClientInitiatedHandshake(who.privateKey, s.host)
  const first = await get(s, path, { authorization: hs.getChallenge() })
  await bodyOf(first)
  assert.equal(first.statusCode, 401)
  return await get(s, path, { authorization: await hs.verifyServer(String(first.headers['www-authenticate'])) })
}

/** The next SSE frames (up to a blank line) from a stream. */
function frames (res: IncomingMessage): { next: () => Promise<string> } {
  let buffer = ''
  const waiting: Array<(frame: string) => void> = []
  const ready: string[] = []
  res.setEncoding('utf8')
  res.on('data', (chunk: string) => {
    buffer += chunk
    let end
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const f = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const w = waiting.shift()
      if (w !== undefined) w(f)
      else ready.push(f)
    }
  })
  return { next: async () => ready.shift() ?? await new Promise<string>(resolve => { waiting.push(resolve) }) }
}

test('the owner authenticates with either flow of Peer ID Auth and gets its events; a bearer token serves the next request', async () => {
  const s = await serve()
  const path = eventsPath(owner.peerId)
  const res = await handshake(s, owner, path)
  assert.equal(res.statusCode, 200)
  assert.match(res.headers['content-type'] ?? '', /^text\/event-stream/)
  const info = res.headers['authentication-info']
  assert.match(String(info), /^libp2p-PeerID bearer="/)
  const stream = frames(res)
  assert.equal(await stream.next(), ': ipms host events')
  s.feed.emit(owner.peerId, 'mail', { entry: 'zdpuA', env: 'bafyA', size: 1120, arrived: 1 })
  assert.equal(await stream.next(), 'id: r1-1\nevent: mail\ndata: {"entry":"zdpuA","env":"bafyA","size":1120,"arrived":1}')
  res.destroy()

  // The server-initiated flow (the host challenges first), with mutual authentication.
  const first = await get(s, path)
  assert.equal(first.statusCode, 401)
  await bodyOf(first)
  const hs = new ServerInitiatedHandshake(owner.privateKey, s.host)
  const answer = await hs.answerServerChallenge(String(first.headers['www-authenticate']))
  const second = await get(s, path, { authorization: answer, 'last-event-id': 'r1-0' })
  assert.equal(second.statusCode, 200)
  const bearer = await hs.decodeBearerToken(String(second.headers['authentication-info']))
  assert.equal(hs.serverId?.toString(), hostKey.peerId, 'the host proved its own peer-id')
  assert.match(await frames(second).next(), /^: ipms/)
  second.destroy()

  const again = await get(s, path, { authorization: bearer, 'last-event-id': 'r1-0' })
  assert.equal(again.statusCode, 200)
  const replay = frames(again)
  await replay.next()
  assert.match(await replay.next(), /^id: r1-1\nevent: mail/, 'replayed after Last-Event-ID')
  again.destroy()
})

test('a stranger, a wrong key and an unknown inbox get the same refusals; a forged answer is no proof', async () => {
  const s = await serve()
  const kept = eventsPath(owner.peerId)
  const notKept = eventsPath(unknown.peerId)
  // Before authentication: the same challenge whatever the inbox.
  assert.deepEqual(await refusal(await get(s, kept)), await refusal(await get(s, notKept)))
  // Authenticated as someone else, or as the owner of an inbox not kept here: one answer.
  const strangerOnKept = await refusal(await handshake(s, stranger, kept))
  assert.equal((strangerOnKept as { status: number }).status, 404)
  assert.deepEqual(await refusal(await handshake(s, stranger, notKept)), strangerOnKept)
  assert.deepEqual(await refusal(await handshake(s, unknown, notKept)), strangerOnKept)

  // A wrong key: the owner's public key, signed by another key (server-initiated flow).
  const wrongKey = async (path: string): Promise<unknown> => {
    const first = await get(s, path)
    await bodyOf(first)
    const hs = new ServerInitiatedHandshake(stranger.privateKey, s.host)
    const answer = (await hs.answerServerChallenge(String(first.headers['www-authenticate'])))
      .replace(/public-key="[^"]*"/, `public-key="${Buffer.from(publicKeyToProtobuf(owner.privateKey.publicKey)).toString('base64url')}"`)
    return await refusal(await get(s, path, { authorization: answer }))
  }
  const unauthenticated = await refusal(await get(s, kept))
  assert.deepEqual(await wrongKey(kept), unauthenticated)
  assert.deepEqual(await wrongKey(notKept), unauthenticated)

  // The answer @libp2p/http-peer-id-auth 2.0.3's serverResponds takes as proof (it checks neither
  // the signature nor the opaque): refused here.
  const forged = `libp2p-PeerID challenge-server="${'A'.repeat(43)}=", public-key="${Buffer.from(publicKeyToProtobuf(owner.privateKey.publicKey)).toString('base64url')}", opaque="x", sig="${'A'.repeat(86)}"`
  const fooled = await serverResponds(forged, s.host, hostKey.privateKey)
  assert.equal(fooled.peerId.toString(), owner.peerId, 'the package hands out the owner\'s peer-id for it')
  assert.deepEqual(await refusal(await get(s, kept, { authorization: forged })), unauthenticated)
  // Nor is a challenge of the package's own making (another host's opaque) an answer here.
  const foreign = await createServerChallenge(s.host, stranger.privateKey)
  assert.equal((await get(s, kept, { authorization: foreign.replace('challenge-client', 'sig') })).statusCode, 401)
})

test('an expired token is refused with a new challenge, and a stream ends when its token does', async () => {
  const s = await serve({ tokenTtlMs: 60_000 })
  const transport = httpTransport(s.url)
  const controller = new AbortController()
  const opened = await openHostStream({ identity: owner, transport, signal: controller.signal })
  assert.equal(opened.res.statusCode, 200)
  assert.ok(opened.authorization)
  opened.res.resume()
  const path = eventsPath(owner.peerId)
  const fresh = await get(s, path, { authorization: opened.authorization })
  assert.equal(fresh.statusCode, 200)
  fresh.destroy()
  s.clock.now += 60_001
  const stale = await get(s, path, { authorization: opened.authorization })
  assert.equal(stale.statusCode, 401)
  assert.match(stale.headers['www-authenticate'] ?? '', /challenge-client=/)
  await bodyOf(stale)
  // The stream opened with it is cut once its time is up (its timer runs on the real clock: a
  // second server with a short token shows it).
  const short = await serve({ tokenTtlMs: 300 })
  const brief = await openHostStream({ identity: owner, transport: httpTransport(short.url), signal: controller.signal })
  assert.equal(brief.res.statusCode, 200)
  brief.res.resume()
  await once(brief.res, 'close')
  assert.equal(brief.res.complete, true, 'ended, not cut')
  opened.res.destroy()
})

test('heads are bounded: a long header is refused before anything else, a long Authorization is no proof', async () => {
  const s = await serve()
  const path = eventsPath(owner.peerId)
  const big = await get(s, path, { 'x-filler': 'a'.repeat(10 * 1024) })
  assert.equal(big.statusCode, 431)
  big.resume()
  const long = await get(s, path, { authorization: `libp2p-PeerID bearer="${'A'.repeat(3000)}"` })
  assert.equal(long.statusCode, 401)
  await bodyOf(long)
  // Other paths and methods: no challenge at all.
  assert.equal((await get(s, '/ipms/v1/inbox/x/events')).statusCode, 404)
  assert.equal((await get(s, path, {}, 'POST')).statusCode, 405)
})

test('limits: streams per owner, requests per address, connections per address', async () => {
  const s = await serve({ limits: { perOwner: 1, requestsPerMinute: 12, perAddress: 3 } })
  const transport = httpTransport(s.url)
  const signal = new AbortController().signal
  const one = await openHostStream({ identity: owner, transport, signal })
  assert.equal(one.res.statusCode, 200)
  one.res.resume()
  const two = await openHostStream({ identity: owner, transport, signal, authorization: one.authorization })
  assert.equal(two.res.statusCode, 429)
  assert.equal(JSON.parse(await bodyOf(two.res)).error.code, 'ERR_RATE_LIMITED')
  one.res.destroy()

  // Connections: the fourth socket from one address is closed at once.
  const sockets: Socket[] = []
  for (let i = 0; i < 3; i++) {
    const socket = connect(s.port, '127.0.0.1')
    await once(socket, 'connect')
    sockets.push(socket)
  }
  await new Promise(resolve => setImmediate(resolve))
  const fourth = connect(s.port, '127.0.0.1')
  fourth.on('error', () => {})
  await once(fourth, 'close')
  for (const socket of sockets) socket.destroy()

  // Requests: past 12 in the minute (4 made above), 429.
  let status = 0
  for (let i = 0; i < 12 && status !== 429; i++) {
    const res = await get(s, eventsPath(owner.peerId))
    status = res.statusCode ?? 0
    await bodyOf(res)
  }
  assert.equal(status, 429)
})

test('a comment ping keeps the stream alive; a resume from another run, or from further back than kept, is a reset', async () => {
  const s = await serve({ pingMs: 50 })
  const signal = new AbortController().signal
  const opened = await openHostStream({ identity: owner, transport: httpTransport(s.url), signal, since: 'zz-5' })
  const stream = frames(opened.res)
  assert.match(await stream.next(), /^: ipms/)
  assert.equal(await stream.next(), 'id: r1-0\nevent: reset\ndata: {"last":"r1-0"}')
  assert.equal(await stream.next(), ': ping')
  opened.res.destroy()
  for (let i = 0; i < 70; i++) s.feed.emit(owner.peerId, 'mail', { entry: `e${i}`, env: `b${i}`, size: 1, arrived: i })
  const old = await openHostStream({ identity: owner, transport: httpTransport(s.url), signal, since: 'r1-3', authorization: opened.authorization })
  const replay = frames(old.res)
  await replay.next()
  assert.equal(await replay.next(), 'id: r1-70\nevent: reset\ndata: {"last":"r1-70"}', 'event r1-4 is no longer kept (64 are)')
  old.res.destroy()
  const recent = await openHostStream({ identity: owner, transport: httpTransport(s.url), signal, since: 'r1-68', authorization: opened.authorization })
  const tail = frames(recent.res)
  await tail.next()
  assert.match(await tail.next(), /^id: r1-69\n/)
  assert.match(await tail.next(), /^id: r1-70\n/)
  recent.res.destroy()
})

test('the client checks what a host sends: bad ids and fields are ignored, a malformed stream is a dropped connection', async () => {
  const { peerIdAuthServer } = await import('../../src/host-events/peer-id-auth.ts')
  const { watchHost, checkMessage } = await import('../../src/host-events/client.ts')
  const { createServer } = await import('node:http')
  const auth = peerIdAuthServer({ privateKey: hostKey.privateKey })
  const hostile = createServer((req, res) => {
    void auth.check(req.headers.authorization, req.headers.host ?? '').then(outcome => {
      if ('challenge' in outcome) { res.writeHead(401, { 'WWW-Authenticate': outcome.challenge }); res.end(); return }
      res.writeHead(200, { 'Content-Type': 'text/event-stream', ...(outcome.info === undefined ? {} : { 'Authentication-Info': outcome.info }) })
      res.write('id: nope\nevent: mail\ndata: {"entry":"a","env":"b","size":1,"arrived":1}\n\n')
      res.write('id: r-1\nevent: mail\ndata: {"entry":"a b","env":"b","size":1,"arrived":1}\n\n')
      res.write('id: r-2\nevent: mail\ndata: {"entry":"zdpuOk","env":"bafyOk","size":1,"arrived":1,"from":"x"}\n\n')
      res.write('id: r-3\nevent: mail\ndata: not json\n\n')
    })
  })
  hostile.listen(0, '127.0.0.1')
  await once(hostile, 'listening')
  const controller = new AbortController()
  try {
    const items = []
    for await (const item of watchHost({ identity: owner, transport: httpTransport(`http://127.0.0.1:${(hostile.address() as { port: number }).port}`), hostPeer: hostKey.peerId, signal: controller.signal, retryMs: [10_000] })) {
      items.push(item)
      if (item.type === 'disconnected') break
    }
    assert.deepEqual(items.map(i => i.type), ['connected', 'mail', 'disconnected'])
    assert.deepEqual(items[1], { type: 'mail', id: 'r-2', data: { entry: 'zdpuOk', env: 'bafyOk', size: 1, arrived: 1 } }, 'unknown fields dropped')
    assert.match((items[2] as { error: string }).error, /malformed stream/)
  } finally {
    controller.abort()
    hostile.closeAllConnections()
    hostile.close()
  }
  for (const data of [null, [], 'x', 1, { entry: 1 }, { envelopes: 'x', reason: 'read' }]) {
    for (const event of ['mail', 'pruned', 'reset', 'other']) assert.doesNotThrow(() => checkMessage({ id: 'r-1', event, data }))
  }
})
