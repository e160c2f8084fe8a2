/**
 * Worker for bench/delivery.ts: the sending side of the delivery rates, on a thread of its own, as
 * senders are other machines in real use. It seals and stamps its mails (0 bits) before any clock
 * starts, dials the host from one fresh libp2p identity, delivers a warm-up batch, then runs each
 * batch the main thread asks for: `inFlight` deliveries at a time until the last verified receipt.
 *
 *   main → worker   { run: name }                 worker → main   { ready: true }
 *                                                  worker → main   { name, receipts } | { name, error }
 */
import crypto from 'node:crypto'
import { parentPort, workerData } from 'node:worker_threads'
import type { Libp2p } from '@libp2p/interface'
import type { MailPayload } from '../src/access/payloads.ts'
import { inboxAddress } from '../src/access/inbox-address.ts'
import { powChallenge, solvePowSync } from '../src/crypto/pow/index.ts'
import { createIdentity, type Identity } from '../src/identity/identity.ts'
import { sealMail } from '../src/mail/seal.ts'
import * as dagCbor from '@ipld/dag-cbor'
import { peerIdFromString } from '@libp2p/peer-id'
import { deliverTo, MAX_DELIVER_FRAME_BYTES } from '../src/node/deliver.ts'
import { frames } from '../src/node/frames.ts'
import { withFreshSender } from '../src/node/sender.ts'

export interface SenderWorkerData {
  /** The host's multiaddr (with /p2p) and peer-id. */
  host: string
  hostId: string
  /**
   * Batch name → the owners its mails go to, round-robin, and how many. An `echo` batch sends the
   * same requests on that protocol instead and reads any one frame back (the stream's own cost).
   */
  batches: Record<string, { owners: string[], count: number, echo?: string }>
  /** Run before 'ready', untimed. */
  warmup: string
  inFlight: number
  bits: number
}

interface Request { inbox: string, mail: MailPayload, envelope: Uint8Array }

const data = workerData as SenderWorkerData
const body = crypto.randomBytes(768).toString('base64') // 1,024 characters

async function request (owner: string, from: Identity, i: number): Promise<Request> {
  const inbox = inboxAddress(owner, data.bits)
  const sealed = await sealMail({ subject: `bench ${i}`, body }, { from, to: owner, inbox })
  const ts = Date.now()
  const pow = solvePowSync(powChallenge({ bits: data.bits, ts, inbox, envelopeCid: sealed.cid }), data.bits)
  return { inbox, envelope: sealed.envelope, mail: { op: 'MAIL', v: 1, env: sealed.cid.toString(), size: sealed.envelope.byteLength, ts, pow } }
}

/** One request on `protocol`, one frame back: a delivery's stream without the delivery. */
async function echo (libp2p: Libp2p, protocol: string, r: Request, signal: AbortSignal): Promise<void> {
  const stream = await libp2p.dialProtocol(peerIdFromString(data.hostId), protocol, { signal })
  const lp = frames(stream, MAX_DELIVER_FRAME_BYTES)
  await lp.write(dagCbor.encode({ v: 1, t: 'deliver', inbox: r.inbox, mail: r.mail, envelope: r.envelope }), { signal })
  await lp.read({ signal })
  await stream.close({ signal })
}

async function deliverAll (libp2p: Libp2p, all: Request[], signal: AbortSignal, echoProtocol?: string): Promise<number> {
  let next = 0
  let receipts = 0
  const worker = async (): Promise<void> => {
    while (next < all.length) {
      const r = all[next++]!
      if (echoProtocol === undefined) await deliverTo(libp2p, data.hostId, r, { signal })
      else await echo(libp2p, echoProtocol, r, signal)
      receipts++
    }
  }
  await Promise.all(Array.from({ length: data.inFlight }, worker))
  return receipts
}

const from = await createIdentity()
const requests = new Map<string, Request[]>()
for (const [name, { owners, count }] of Object.entries(data.batches)) {
  const list: Request[] = []
  for (let i = 0; i < count; i++) list.push(await request(owners[i % owners.length]!, from, i))
  requests.set(name, list)
}

await withFreshSender(async (libp2p, dial) => {
  await dial(data.host)
  await deliverAll(libp2p, requests.get(data.warmup)!, AbortSignal.timeout(60_000))
  const done = new Promise<void>(resolve => {
    parentPort!.on('message', (message: { run?: string }) => {
      if (message.run === undefined) { resolve(); return }
      const name = message.run
      deliverAll(libp2p, requests.get(name)!, AbortSignal.timeout(120_000), data.batches[name]?.echo).then(
        receipts => { parentPort!.postMessage({ name, receipts }) },
        (err: Error) => { parentPort!.postMessage({ name, error: err.message }) })
    })
  })
  parentPort!.postMessage({ ready: true })
  await done
})
parentPort!.close() // lets the thread end
