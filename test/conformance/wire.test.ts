/**
 * The /ipms/deliver and /ipms/sync vectors of test/vectors/protocol-v1.json on real libp2p streams
 * over TCP (docs/PROTOCOL.md §7, §10, §12): the bytes src/'s sender writes are the vector's request
 * frame, it takes the vector's receipt and refusal frames as the vectors say, and src/'s host
 * answers each request vector with the vector's code; a co-host of src/ starts a sync with the
 * vector's hello, takes the vector's blocks and end frames, answers with the vector's ack and done,
 * and then holds the vector's MAIL entry; src/'s host ends the session on each hello the vectors
 * refuse. The conformance operations read frames from memory; this
 * checks that the node's own handlers put the same bytes on the wire.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import * as dagCbor from '@ipld/dag-cbor'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { Stream } from '@libp2p/interface'
import { identityFromSeed, type Identity } from '../../src/identity/identity.ts'
import { createDeliveryService, DELIVER_PROTOCOL, deliverTo } from '../../src/node/deliver.ts'
import { quietLogger } from '../../src/node/quiet-logger.ts'
import { withFreshSender } from '../../src/node/sender.ts'
import { SYNC_PROTOCOL } from '../../src/node/sync.ts'
import { verifyGrant } from '../../src/hosting/grant.ts'
import { referenceUnframe } from '../helpers/reference.ts'
import { startReplica } from '../helpers/replicas.ts'
import { fromJson, hex, unhex, type Vector } from './json.ts'

const { vectors, keys } = JSON.parse(readFileSync(new URL('../vectors/protocol-v1.json', import.meta.url), 'utf8')) as { vectors: Vector[], keys: Record<string, { seed: string, peerId: string }> }
const byName = (name: string): Vector => vectors.find(v => v.name === name) ?? assert.fail(`no vector "${name}"`)
const frameOf = (name: string): Uint8Array => unhex(byName(name).output!.frame as string)

let hostIdentity: Identity
let host: Libp2p
/** What the host answers the next delivery with, and what it read of it. */
let answer: Uint8Array = new Uint8Array()
let received: Promise<Uint8Array> = Promise.resolve(new Uint8Array())

before(async () => {
  hostIdentity = await identityFromSeed(unhex(keys.host!.seed))
  host = await createLibp2p({
    privateKey: hostIdentity.privateKey,
    logger: quietLogger(),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
})
after(async () => { await host?.stop() })

/** A host that records the request's bytes (`length` of them) and answers `answer`'s raw bytes. */
async function recordingHost (length: number): Promise<void> {
  await host.unhandle(DELIVER_PROTOCOL)
  let resolve: (bytes: Uint8Array) => void = () => {}
  received = new Promise(r => { resolve = r })
  await host.handle(DELIVER_PROTOCOL, async (stream: Stream) => {
    const chunks: Uint8Array[] = []
    let got = 0
    for await (const chunk of stream) {
      chunks.push(chunk.subarray()); got += chunk.byteLength
      if (got >= length) break
    }
    resolve(new Uint8Array(Buffer.concat(chunks)))
    stream.send(answer)
    await stream.close()
  })
}

/** The request of the vector "deliver request (sender → host), with a pass", for src's deliverTo. */
function vectorRequest (): { inbox: string, mail: any, envelope: Uint8Array, pass: Uint8Array } {
  const { inbox, mail, envelope, pass } = fromJson(byName('deliver request (sender → host), with a pass').input.message) as Record<string, any>
  return { inbox, mail, envelope, pass }
}

test('src/\'s sender writes the vector\'s request frame byte for byte, and reads the receipt, every refusal and every broken answer as the vectors say', { timeout: 120_000 }, async () => {
  const expected = frameOf('deliver request (sender → host), with a pass')
  const request = vectorRequest()
  // One sender for every delivery (one connection, a stream each): libp2p refuses more than a few
  // new connections a second from one address.
  await withFreshSender(async (libp2p, dial) => {
    await dial(host.getMultiaddrs()[0]!.toString(), AbortSignal.timeout(20_000))
    const deliver = async (): Promise<unknown> => {
      try { return await deliverTo(libp2p, hostIdentity.peerId, request, { timeoutMs: 20_000 }) } catch (err) { return err }
    }
    await recordingHost(expected.byteLength)
    answer = frameOf('receipt answer (host → sender)')
    const receipt = await deliver() as { entry: string, time: number }
    assert.deepEqual(await received, expected)
    assert.deepEqual({ entry: receipt.entry, time: receipt.time }, byName('receipt answer read by the sender').output)

    const refusals = vectors.filter(v => v.op === 'read-deliver-answer' && v.output?.refused !== undefined)
    assert.ok(refusals.length >= 10)
    for (const v of refusals) {
      answer = unhex(v.input.frame as string)
      await recordingHost(expected.byteLength)
      const err = await deliver() as { code: string, hostTime?: number, expired?: number }
      assert.deepEqual([err.code, err.hostTime ?? null, err.expired ?? null], [v.output!.refused, v.output!.hostTime, v.output!.expired], v.name)
    }
    // Answers that are no receipt (not canonical, not CBOR, of no known type).
    const broken = vectors.filter(v => v.op === 'read-deliver-answer' && v.error !== undefined)
    assert.ok(broken.length >= 3)
    for (const v of broken) {
      answer = unhex(v.input.frame as string)
      await recordingHost(expected.byteLength)
      assert.equal((await deliver() as { code: string }).code, v.error, v.name)
    }
  })
})

test('src/\'s host answers every deliver-request vector with the vector\'s code (a well-formed one: not hosted here)', { timeout: 120_000 }, async () => {
  await host.unhandle(DELIVER_PROTOCOL)
  const service = createDeliveryService({ libp2p: host, identity: hostIdentity, inboxFor: () => undefined })
  await service.start()
  try {
    const address = host.getMultiaddrs()[0]!
    const requests = vectors.filter(v => v.op === 'read-deliver-request')
    assert.ok(requests.length >= 8)
    await withFreshSender(async (libp2p, dial) => {
      await dial(address.toString(), AbortSignal.timeout(20_000))
      for (const v of requests) {
        const stream = await libp2p.dialProtocol(peerIdFromString(hostIdentity.peerId), DELIVER_PROTOCOL, { signal: AbortSignal.timeout(20_000) })
        stream.send(unhex(v.input.frame as string))
        const got = dagCbor.decode((await lpStream(stream).read({ signal: AbortSignal.timeout(20_000) })).subarray()) as { t: string, code: string }
        stream.abort(new Error('done'))
        assert.deepEqual([got.t, got.code], ['refused', v.error ?? 'ERR_NOT_HOSTED'], v.name)
      }
    })
  } finally {
    await service.stop()
  }
})

test('a co-host of src/ syncs with a peer that speaks the vectors\' frames: its hello, ack and done are the vectors\', and it joins the vector\'s MAIL entry; every frame the vectors refuse ends its session', { timeout: 120_000 }, async () => {
  const body = (frame: Uint8Array): string => hex(referenceUnframe(frame, 8 * 1024 * 1024))
  const hello = frameOf('sync hello (co-host → host, with its grant)')
  const message = fromJson(byName('sync hello (co-host → host, with its grant)').input.message) as { inbox: string, grant: Uint8Array }
  const grant = verifyGrant(message.grant)
  const address = message.inbox
  const entryHash = byName('MAIL entry accepted by the inbox rules').output!.hash as string
  const cohost = await startReplica({ identity: await identityFromSeed(unhex(keys.cohost!.seed)), grantFor: () => grant })
  try {
    const inbox = await cohost.inbox(keys.owner!.peerId, 8)
    assert.equal(inbox.address, address)
    const seen: string[] = []
    await host.unhandle(SYNC_PROTOCOL)
    await host.handle(SYNC_PROTOCOL, async (stream: Stream) => {
      const lp = lpStream(stream)
      const read = async (): Promise<void> => { seen.push(hex((await lp.read({ signal: AbortSignal.timeout(20_000) })).subarray())) }
      await read()
      stream.send(frameOf('sync blocks (host → co-host: the MAIL entry and its envelope)'))
      await read()
      stream.send(frameOf('sync end (host → co-host: its heads)'))
      await read()
      await stream.close()
    })
    await cohost.node.libp2p.dial(host.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(20_000) })
    await cohost.sync.syncWith(hostIdentity.peerId, inbox, { signal: AbortSignal.timeout(30_000) })
    assert.deepEqual(seen, [body(hello), body(frameOf('sync ack')), body(frameOf('sync done'))])
    assert.deepEqual((await inbox.pending()).map(m => m.hash), [entryHash])
    // Each frame the vectors refuse, sent where a blocks frame is due, ends the session: ERR_SYNC.
    const refused = vectors.filter(v => v.op === 'read-sync-frame' && v.input.first !== true && v.error !== undefined)
    assert.ok(refused.length >= 3)
    for (const v of refused) {
      await host.unhandle(SYNC_PROTOCOL)
      await host.handle(SYNC_PROTOCOL, async (stream: Stream) => {
        await lpStream(stream).read({ signal: AbortSignal.timeout(20_000) })
        stream.send(unhex(v.input.frame as string))
      })
      await assert.rejects(cohost.sync.syncWith(hostIdentity.peerId, inbox, { signal: AbortSignal.timeout(30_000) }), { code: v.error }, v.name)
    }
  } finally {
    await host.unhandle(SYNC_PROTOCOL)
    await cohost.cleanup()
  }
})

test('a host of src/ ends the session on every hello the vectors refuse, from its granted co-host, and still serves a good one', { timeout: 120_000 }, async () => {
  const cohostIdentity = await identityFromSeed(unhex(keys.cohost!.seed))
  const replica = await startReplica({ identity: hostIdentity })
  const cohost = await createLibp2p({
    privateKey: cohostIdentity.privateKey,
    logger: quietLogger(),
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
  try {
    await replica.inbox(keys.owner!.peerId, 8)
    await cohost.dial(replica.node.libp2p.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(20_000) })
    /** The first frame the host answers `frame` with (its `t`), or `ended` when it ends the session instead. */
    const answerTo = async (frame: Uint8Array): Promise<string> => {
      const stream = await cohost.dialProtocol(peerIdFromString(replica.node.peerId), SYNC_PROTOCOL, { signal: AbortSignal.timeout(20_000) })
      try {
        stream.send(frame)
        const reply = await lpStream(stream, { maxDataLength: 8 * 1024 * 1024 }).read({ signal: AbortSignal.timeout(20_000) })
        return (dagCbor.decode(reply.subarray()) as { t: string }).t
      } catch {
        return 'ended'
      } finally {
        stream.abort(new Error('done'))
      }
    }
    const hellos = vectors.filter(v => v.op === 'read-sync-frame' && v.input.first === true && v.error !== undefined)
    assert.ok(hellos.length >= 4)
    for (const v of hellos) assert.equal(await answerTo(unhex(v.input.frame as string)), 'ended', v.name)
    assert.equal(await answerTo(frameOf('sync hello (co-host → host, with its grant)')), 'end', 'the host serves the co-host a good hello')
  } finally {
    await cohost.stop()
    await replica.cleanup()
  }
})
