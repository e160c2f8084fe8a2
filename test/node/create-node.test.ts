/**
 * createNode and the home lock: real TCP on 127.0.0.1, real LevelDB under os.tmpdir().
 *
 * Covers restart on the same home (peer-id, OrbitDB identity, blocks, pins, an OrbitDB database),
 * bitswap between two nodes, one node per home (in-process, other process, stale lock, kill -9)
 * and a bounded, idempotent stop().
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { access, readFile, rm, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { createIdentity, identityFromSeed } from '../../src/identity/index.ts'
import { createNode, HOME_LOCK_FILE_NAME, type IpmsNode } from '../../src/node/index.ts'
import { AbortError, HomeInUseError } from '../../src/errors.ts'
import { connect, makeTempHome, startTestNode, type TestNode } from '../helpers/nodes.ts'

const WAIT_MS = 15_000

/** Two test nodes, connected, stopped when the test ends. */
async function connectedPair (t: TestContext): Promise<[TestNode, TestNode]> {
  const a = await startTestNode()
  t.after(a.cleanup)
  const b = await startTestNode()
  t.after(b.cleanup)
  await connect(a.node, b.node, { signal: AbortSignal.timeout(WAIT_MS) })
  return [a, b]
}

async function rawBlock (bytes = randomBytes(512)): Promise<{ cid: CID, bytes: Uint8Array }> {
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes: new Uint8Array(bytes) }
}

async function readBlock (node: IpmsNode, cid: CID, options: { signal?: AbortSignal, offline?: boolean } = {}): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const chunk of node.helia.blockstore.get(cid, options)) chunks.push(chunk)
  return new Uint8Array(Buffer.concat(chunks))
}

async function drain (iterable: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of iterable) { /* consume */ }
}

async function exists (path: string): Promise<boolean> {
  return await access(path).then(() => true, () => false)
}

function isHomeInUse (err: unknown): boolean {
  return err instanceof HomeInUseError && err.code === 'ERR_HOME_IN_USE'
}

/** The pid of a process that has exited (and whose pid nothing reuses in the next instants). */
async function deadPid (): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  const pid = child.pid
  assert.ok(pid !== undefined)
  await once(child, 'exit', { signal: AbortSignal.timeout(WAIT_MS) })
  return pid
}

test('a node runs as its identity on 127.0.0.1 and restarts on the same home with its state', async (t) => {
  const home = await makeTempHome()
  t.after(async () => { await rm(home, { recursive: true, force: true }) })
  const identity = await createIdentity()
  const kept = await rawBlock()
  const pinned = await rawBlock()

  const first = await createNode({ home, identity })
  let orbitId: string
  let dbAddress: string
  try {
    assert.equal(first.peerId, identity.peerId)
    assert.equal(first.libp2p.peerId.toString(), identity.peerId)
    const addrs = first.multiaddrs()
    assert.ok(addrs.length > 0)
    for (const addr of addrs) {
      const match = /^\/ip4\/127\.0\.0\.1\/tcp\/(\d+)\/p2p\/(.+)$/.exec(addr)
      assert.ok(match !== null, addr)
      assert.ok(Number(match[1]) > 0)
      assert.equal(match[2], identity.peerId)
    }
    assert.ok(await exists(join(home, HOME_LOCK_FILE_NAME)))

    await first.helia.blockstore.put(kept.cid, kept.bytes)
    await first.helia.blockstore.put(pinned.cid, pinned.bytes)
    await drain(first.helia.pins.add(pinned.cid))
    orbitId = first.orbitdb.identity.id

    // An OrbitDB database with its built-in Sync off: no pubsub topic, no head-exchange protocol.
    const db = await first.orbitdb.open('restart-test', { sync: false })
    dbAddress = db.address
    await db.add('hello')
    assert.equal(first.libp2p.services.pubsub, undefined, 'no gossipsub unless asked for')
    assert.ok(!first.libp2p.getProtocols().some(p => p.startsWith('/meshsub/') || p.startsWith('/floodsub/')), first.libp2p.getProtocols().join(' '))
    assert.ok(!first.libp2p.getProtocols().some(p => p.includes(dbAddress)))
  } finally {
    await first.stop()
  }
  assert.equal(await exists(join(home, HOME_LOCK_FILE_NAME)), false, 'stop() releases the home lock')

  const second = await createNode({ home, identity })
  try {
    assert.equal(second.peerId, identity.peerId)
    assert.equal(second.orbitdb.identity.id, orbitId, 'the OrbitDB identity survives a restart')
    assert.deepEqual(await readBlock(second, kept.cid, { offline: true }), kept.bytes)
    assert.equal(await second.helia.pins.isPinned(pinned.cid), true, 'a pin survives a restart')
    const db = await second.orbitdb.open(dbAddress, { sync: false })
    const values = (await db.all()).map((e: { value: unknown }) => e.value)
    assert.deepEqual(values, ['hello'])
  } finally {
    await second.stop()
  }
})

test('two connected nodes move a block over bitswap', async (t) => {
  const [a, b] = await connectedPair(t)

  const block = await rawBlock(randomBytes(64 * 1024))
  await a.node.helia.blockstore.put(block.cid, block.bytes)
  assert.equal(await b.node.helia.blockstore.has(block.cid), false)
  const fetched = await readBlock(b.node, block.cid, { signal: AbortSignal.timeout(WAIT_MS) })
  assert.deepEqual(fetched, block.bytes)
  assert.equal(await b.node.helia.blockstore.has(block.cid), true)
})

test('a second node on the same home is refused while the first runs, and starts after it stops', async (t) => {
  const first = await startTestNode()
  t.after(first.cleanup)

  await assert.rejects(createNode({ home: first.home, identity: first.identity }), (err: unknown) => {
    assert.ok(isHomeInUse(err))
    assert.match((err as Error).message, /already open in this process/)
    return true
  })
  // Even with another identity: the home, not the key, is what is locked.
  await assert.rejects(createNode({ home: first.home, identity: await createIdentity() }), isHomeInUse)

  // The first node is untouched: lock file, blocks, OrbitDB.
  const lock = JSON.parse(await readFile(join(first.home, HOME_LOCK_FILE_NAME), 'utf8'))
  assert.equal(lock.pid, process.pid)
  const block = await rawBlock()
  await first.node.helia.blockstore.put(block.cid, block.bytes)
  assert.deepEqual(await readBlock(first.node, block.cid, { offline: true }), block.bytes)
  const db = await first.node.orbitdb.open('still-works', { sync: false })
  await db.add(1)

  await first.node.stop()
  const second = await createNode({ home: first.home, identity: first.identity })
  try {
    assert.deepEqual(await readBlock(second, block.cid, { offline: true }), block.bytes)
  } finally {
    await second.stop()
  }
})

test('two concurrent createNode calls on one home: exactly one wins', async (t) => {
  const home = await makeTempHome()
  t.after(async () => { await rm(home, { recursive: true, force: true }) })
  const identity = await createIdentity()
  const results = await Promise.allSettled([createNode({ home, identity }), createNode({ home, identity })])
  const started = results.filter(r => r.status === 'fulfilled').map(r => r.value)
  const refused = results.filter(r => r.status === 'rejected').map(r => r.reason)
  try {
    assert.equal(started.length, 1)
    assert.equal(refused.length, 1)
    assert.ok(isHomeInUse(refused[0]), String(refused[0]))
  } finally {
    await Promise.all(started.map(async node => { await node.stop() }))
  }
})

test('stale locks are taken over: dead pid, this pid from an earlier life, unreadable content', async (t) => {
  const home = await makeTempHome()
  t.after(async () => { await rm(home, { recursive: true, force: true }) })
  const identity = await createIdentity()
  const lockPath = join(home, HOME_LOCK_FILE_NAME)
  const stale = [
    JSON.stringify({ pid: await deadPid(), host: hostname(), token: 'left-by-a-dead-process' }),
    JSON.stringify({ pid: process.pid, host: hostname(), token: 'same-pid-earlier-process' }),
    '12'
  ]
  for (const content of stale) {
    await writeFile(lockPath, content)
    const node = await createNode({ home, identity })
    try {
      const lock = JSON.parse(await readFile(lockPath, 'utf8'))
      assert.equal(lock.pid, process.pid)
      assert.notEqual(lock.token, 'same-pid-earlier-process')
    } finally {
      await node.stop()
    }
    assert.equal(await exists(lockPath), false)
  }
})

test('a node killed with SIGKILL leaves no lock behind that blocks a restart', async (t) => {
  const home = await makeTempHome()
  t.after(async () => { await rm(home, { recursive: true, force: true }) })
  const seed = randomBytes(32)
  const identity = await identityFromSeed(seed)
  const src = (path: string): string => pathToFileURL(join(import.meta.dirname, '../../src', path)).href
  // The child starts a node, stores and pins a block, and reports READY; it never stops by itself.
  const script = `
    import { createNode } from ${JSON.stringify(src('node/index.ts'))}
    import { identityFromSeed } from ${JSON.stringify(src('identity/index.ts'))}
    import { CID } from 'multiformats/cid'
    import * as raw from 'multiformats/codecs/raw'
    import { sha256 } from 'multiformats/hashes/sha2'
    const identity = await identityFromSeed(Buffer.from(process.env.IPMS_TEST_SEED, 'hex'))
    const node = await createNode({ home: process.env.IPMS_TEST_HOME, identity })
    const bytes = new TextEncoder().encode('written before SIGKILL')
    const cid = CID.createV1(raw.code, await sha256.digest(bytes))
    await node.helia.blockstore.put(cid, bytes)
    for await (const _ of node.helia.pins.add(cid)) {}
    process.stdout.write('READY ' + cid.toString() + '\\n')
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: join(import.meta.dirname, '../..'), // so that the script's bare imports resolve
    env: { ...process.env, IPMS_TEST_SEED: seed.toString('hex'), IPMS_TEST_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = once(child, 'exit')
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })

  let cid: CID | undefined
  const lines = createInterface({ input: child.stdout })
  const deadline = AbortSignal.timeout(WAIT_MS * 2)
  try {
    for await (const line of lines) {
      deadline.throwIfAborted()
      if (line.startsWith('READY ')) { cid = CID.parse(line.slice(6)); break }
    }
  } finally {
    lines.close()
  }
  assert.ok(cid !== undefined, `the child did not start: ${stderr}`)

  // While the child runs, the home is refused, naming the child's pid.
  await assert.rejects(createNode({ home, identity }), (err: unknown) => {
    assert.ok(isHomeInUse(err))
    assert.match((err as Error).message, new RegExp(`process ${child.pid}\\b`))
    return true
  })

  child.kill('SIGKILL')
  const [, signal] = await exited
  assert.equal(signal, 'SIGKILL')
  // What the crash left: our lock file naming a dead pid, and LevelDB LOCK files (whose kernel
  // locks died with the process).
  assert.equal(JSON.parse(await readFile(join(home, HOME_LOCK_FILE_NAME), 'utf8')).pid, child.pid)
  assert.ok(await exists(join(home, 'blocks', 'LOCK')))
  assert.ok(await exists(join(home, 'datastore', 'LOCK')))

  const node = await createNode({ home, identity })
  try {
    assert.deepEqual(new TextDecoder().decode(await readBlock(node, cid, { offline: true })), 'written before SIGKILL')
    assert.equal(await node.helia.pins.isPinned(cid), true)
  } finally {
    await node.stop()
  }
})

test('stop() is idempotent, bounded, and releases the home even if a part hangs', async (t) => {
  const [a, b] = await connectedPair(t)
  await a.node.orbitdb.open('open-at-stop', { sync: false })

  const started = Date.now()
  await Promise.all([a.node.stop(), a.node.stop()])
  assert.ok(Date.now() - started < 5_000, `stop() took ${Date.now() - started} ms`)
  await a.node.stop()
  assert.equal(a.node.libp2p.status, 'stopped')
  assert.equal(await exists(join(a.home, HOME_LOCK_FILE_NAME)), false)

  // A part that never finishes stopping is abandoned after `stopTimeout`, and the lock released.
  const c = await startTestNode({ stopTimeout: 200 })
  t.after(c.cleanup)
  const orbitdbStop = c.node.orbitdb.stop
  c.node.orbitdb.stop = async () => await new Promise<void>(() => {})
  const hungAt = Date.now()
  await c.node.stop()
  assert.ok(Date.now() - hungAt < 3_000, `stop() took ${Date.now() - hungAt} ms with a hung part`)
  assert.equal(c.node.libp2p.status, 'stopped')
  assert.equal(await exists(join(c.home, HOME_LOCK_FILE_NAME)), false)
  await orbitdbStop() // close what was abandoned, for the test's own hygiene
})

test('an aborted start-up stops what it started and releases the home', async (t) => {
  const home = await makeTempHome()
  t.after(async () => { await rm(home, { recursive: true, force: true }) })
  const identity = await createIdentity()
  await assert.rejects(createNode({ home, identity, signal: AbortSignal.abort() }), AbortError)

  // Abort in the middle of start-up (after the stores opened), then start normally.
  const controller = new AbortController()
  const starting = createNode({ home, identity, signal: controller.signal })
  setImmediate(() => { controller.abort() })
  await starting.then(async node => { await node.stop() }, (err: unknown) => { assert.ok(err instanceof AbortError, String(err)) })
  assert.equal(await exists(join(home, HOME_LOCK_FILE_NAME)), false)
  const node = await createNode({ home, identity })
  await node.stop()
})

test('OrbitDB signs log entries with an Ed25519 key of its own (native speed), kept across restarts', async (t) => {
  const home = await makeTempHome()
  t.after(async () => { await rm(home, { recursive: true, force: true }) })
  const identity = await createIdentity()
  const first = await createNode({ home, identity })
  const { publicKey, id } = first.orbitdb.identity
  await first.stop()
  // 32 bytes in hex: Ed25519 (OrbitDB's default, secp256k1, has 33-byte keys).
  assert.match(publicKey, /^[0-9a-f]{64}$/)
  assert.notEqual(publicKey, Buffer.from(identity.publicKey).toString('hex'), 'not the user\'s own key')
  const again = await createNode({ home, identity })
  try {
    assert.equal(again.orbitdb.identity.publicKey, publicKey)
    assert.equal(again.orbitdb.identity.id, id)
  } finally {
    await again.stop()
  }
})
