/**
 * The local API's client (src/api/client.ts, client-streams.ts): the NDJSON and SSE parsers, how
 * a stale `api` file is told from a live daemon and removed, and the client's requests against a
 * stand-in server on a real Unix socket (the real daemon's API is tested in test/cli/through-daemon).
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connectDaemon } from '../../src/api/client.ts'
import { ndjsonParser, sseParser, type SseMessage } from '../../src/api/client-streams.ts'
import { IpmsError } from '../../src/errors.ts'

let root: string
let n = 0
const newHome = async (): Promise<string> => {
  const home = join(root, `home-${++n}`)
  await mkdir(home, { mode: 0o700 })
  return home
}
const COOKIE = 'ab'.repeat(32)

before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-api-client-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

test('NDJSON: objects split across chunks, CRLF and blank lines; an endless line is refused', () => {
  const seen: unknown[] = []
  const parser = ndjsonParser(value => seen.push(value))
  parser.push('{"progress":{"stage":"po')
  parser.push('w"}}\r\n\n{"ok":tr')
  parser.push('ue}')
  parser.end()
  assert.deepEqual(seen, [{ progress: { stage: 'pow' } }, { ok: true }])
  const bounded = ndjsonParser(() => {}, { maxLineBytes: 10 })
  assert.throws(() => { bounded.push('{"a":"01234567890"') }, (err: IpmsError) => err.code === 'ERR_TOO_LARGE')
  assert.throws(() => { ndjsonParser(() => {}).push('not json\n') }, (err: IpmsError) => err.code === 'ERR_MALFORMED')
})

test('SSE: id, event and multi-line data; comments ignored; an event ends at its blank line', () => {
  const seen: SseMessage[] = []
  const parser = sseParser(m => seen.push(m))
  parser.push(': keep-alive\n\nid: 3\nevent: mail\ndata: {"id":"abc",\ndata: "from":"x"}\n')
  assert.equal(seen.length, 0, 'not before the blank line')
  parser.push('\r\nevent: reset\rdata: {"last":9}\r\r')
  parser.push('id: 4\nevent: sent\ndata:{"id":"z"}\n\n')
  assert.deepEqual(seen, [
    { id: '3', event: 'mail', data: { id: 'abc', from: 'x' } },
    { id: '3', event: 'reset', data: { last: 9 } },
    { id: '4', event: 'sent', data: { id: 'z' } }
  ])
})

test('no api file: undefined; a dead pid or a refusing socket: the stale files are removed, undefined', async () => {
  const home = await newHome()
  assert.equal(await connectDaemon(home), undefined)
  // A process that existed and is gone.
  const child = spawn(process.execPath, ['-e', ''])
  await once(child, 'exit')
  const stale = async (pid: number): Promise<void> => {
    await writeFile(join(home, 'api'), JSON.stringify({ v: 1, socket: join(home, 'api.sock'), pid }))
    await writeFile(join(home, 'api.cookie'), COOKIE)
    await writeFile(join(home, 'api.sock'), '')
  }
  await stale(child.pid!)
  assert.equal(await connectDaemon(home), undefined)
  assert.deepEqual(await readdir(home), [])
  // A live pid (this process) but nothing listens on the socket.
  await stale(process.pid)
  assert.equal(await connectDaemon(home), undefined)
  assert.deepEqual(await readdir(home), [])
  // A damaged api file is stale too.
  await writeFile(join(home, 'api'), '{"v":1,')
  assert.equal(await connectDaemon(home), undefined)
  assert.deepEqual(await readdir(home), [])
})

/** A stand-in daemon on `<home>/api.sock` answering with `handler`. */
async function standIn (home: string, handler: Parameters<typeof createServer>[1]): Promise<Server> {
  const server = createServer(handler)
  server.listen(join(home, 'api.sock'))
  await once(server, 'listening')
  await writeFile(join(home, 'api'), JSON.stringify({ v: 1, socket: join(home, 'api.sock'), pid: process.pid }))
  await writeFile(join(home, 'api.cookie'), `${COOKIE}\n`)
  return server
}

test('a live daemon: the cookie is presented; answers, NDJSON progress, errors by code (unknown codes: ERR_UNEXPECTED), SSE with Last-Event-ID', async () => {
  const home = await newHome()
  const seen: Array<{ method?: string, url?: string, auth?: string, lastId?: string, body: string }> = []
  const server = await standIn(home, (req, res) => {
    let body = ''
    req.setEncoding('utf8').on('data', (d: string) => { body += d })
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, lastId: req.headers['last-event-id'] as string | undefined, body })
      if (req.url === '/api/v1/id') { res.setHeader('content-type', 'application/json'); res.end('{"ok":true,"peerId":"12D3KooWx"}'); return }
      if (req.url === '/api/v1/mail/nope') { res.statusCode = 404; res.end('{"ok":false,"error":{"code":"ERR_NOT_FOUND","message":"No mail nope here"}}'); return }
      if (req.url === '/api/v1/weird') { res.statusCode = 500; res.end('{"ok":false,"error":{"code":"ERR_FROM_MARS","message":"odd"}}'); return }
      if (req.url === '/api/v1/send') {
        res.setHeader('content-type', 'application/x-ndjson')
        res.write('{"progress":{"stage":"pow","attempts":5}}\n{"progress":{"stage":"deliver"}}\n')
        res.end('{"ok":false,"error":{"code":"ERR_NO_HOST","message":"Not delivered yet"}}\n')
        return
      }
      if (req.url === '/api/v1/events') {
        res.setHeader('content-type', 'text/event-stream')
        res.write(': keep-alive\n\nevent: reset\ndata: {"last":7}\n\n')
        res.end('id: 8\nevent: mail\ndata: {"time":1764500000000,"id":"m1"}\n\nid: 9\nevent: stopped\ndata: {"time":"soon"}\n\n')
      }
    })
  })
  try {
    const client = await connectDaemon(home)
    assert.ok(client !== undefined)
    assert.deepEqual(await client.get('/id'), { peerId: '12D3KooWx' })
    assert.equal(seen[0]!.auth, `Bearer ${COOKIE}`)
    await assert.rejects(client.get('/mail/nope'), (err: IpmsError) => err instanceof IpmsError && err.code === 'ERR_NOT_FOUND' && err.message === 'No mail nope here')
    await assert.rejects(client.get('/weird'), (err: IpmsError) => err.code === 'ERR_UNEXPECTED')
    const progress: unknown[] = []
    await assert.rejects(client.stream('/send', { to: 'bob', body: 'hi' }, p => progress.push(p)), (err: IpmsError) => err.code === 'ERR_NO_HOST')
    assert.deepEqual(progress, [{ stage: 'pow', attempts: 5 }, { stage: 'deliver' }])
    assert.deepEqual(JSON.parse(seen.at(-1)!.body), { to: 'bob', body: 'hi' })
    const events = []
    for await (const event of client.events({ since: 3 })) events.push(event)
    assert.equal(seen.at(-1)!.lastId, '3')
    // `time` is taken out of the data; one that is not a time is dropped.
    assert.deepEqual(events, [{ reset: true, last: 7 }, { id: 8, type: 'mail', time: 1764500000000, data: { id: 'm1' } }, { id: 9, type: 'stopped', data: {} }])
  } finally {
    server.close()
  }
})

test('the daemon dies mid-stream: ERR_NO_DAEMON, not a hang', async () => {
  const home = await newHome()
  const server = await standIn(home, (_req, res) => {
    res.setHeader('content-type', 'application/x-ndjson')
    res.write('{"progress":{"stage":"sync"}}\n')
    setImmediate(() => { res.socket?.destroy() })
  })
  try {
    const client = await connectDaemon(home)
    await assert.rejects(client!.stream('/sync', {}, () => {}), (err: IpmsError) => err.code === 'ERR_NO_DAEMON')
  } finally {
    server.close()
  }
})
