/**
 * The conformance operations (docs/PROTOCOL.md §7) over this implementation's own code in src/:
 * the first adapter that `npm run conformance` checks, and what test/vectors/vectors.test.ts runs
 * every vector through. Each operation calls the function the node itself uses; where src/ keeps a
 * check inside a protocol handler (the deliver request's shape), the adapter calls the same
 * exported pieces in the handler's order.
 */
import { streamPair } from '@libp2p/utils'
import { Entry } from '@orbitdb/core'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { accessAddress, accessBlock, inboxAddress, inboxParams, manifestBlock } from '../../src/access/inbox-address.ts'
import { inboxRules } from '../../src/access/inbox-rules.ts'
import { mailPayloadProblem, mailPayloadShapeProblem, pruneSigningInput, prunePayloadProblem, signPrune } from '../../src/access/payloads.ts'
import { CARD_PREFIX, GRANT_PREFIX, PASS_PREFIX, TAG_CARD, TAG_GRANT, TAG_PASS } from '../../src/constants.ts'
import { decodeCbor, encodeCbor, refuseBadHead, taggedBytes } from '../../src/crypto/codec.ts'
import { signEd25519 } from '../../src/crypto/keys.ts'
import { powChallenge, requiredPowBits } from '../../src/crypto/pow/index.ts'
import { createHostsRecordValidator } from '../../src/discovery/hosts-record.ts'
import { DeliveryRefusedError, IpmsError, type Problem } from '../../src/errors.ts'
import { decodeBackup } from '../../src/home/backup.ts'
import { verifyCard } from '../../src/hosting/card.ts'
import { verifyGrant } from '../../src/hosting/grant.ts'
import { verifyPass } from '../../src/hosting/pass.ts'
import { encodeRecord, signRecord } from '../../src/hosting/signed-record.ts'
import { identityFromSeed } from '../../src/identity/identity.ts'
import { decodeIdentityFile } from '../../src/identity/keystore.ts'
import { importKuboIdentity } from '../../src/identity/kubo.ts'
import { parsePeerId } from '../../src/identity/peer-id.ts'
import { openMail, sealMail, type Draft } from '../../src/mail/seal.ts'
import { deliverAnswer, DELIVER_REQUEST_LIMITS, MAX_DELIVER_FRAME_BYTES, receiptSigningInput, verifyReceipt } from '../../src/node/deliver.ts'
import { frames } from '../../src/node/frames.ts'
import { envelopeList, hashList, MAX_SYNC_FRAME_BYTES, MAX_SYNC_HELLO_BYTES, SYNC_FRAME_LIMITS } from '../../src/node/sync.ts'
import { verifyEntrySignature } from '../../src/stores/orbitdb/entry-signature.ts'
import { hasExactly, isBytes, isPlainMap } from '../../src/util/fields.ts'
import { fromJson, hex, unhex, type Operations } from './json.ts'

const str = (v: unknown): string => v as string
const num = (v: unknown): number => v as number
const fail = (problem: Problem | undefined): void => { if (problem !== undefined) throw new IpmsError(problem.code, problem.message) }
const RECORDS = {
  grant: { prefix: GRANT_PREFIX, tag: TAG_GRANT },
  card: { prefix: CARD_PREFIX, tag: TAG_CARD },
  pass: { prefix: PASS_PREFIX, tag: TAG_PASS }
} as const
const DELIVER_FIELDS = ['envelope', 'inbox', 'mail', 't', 'v']

/** Bytes through src's frame writer, as the peer receives them. */
async function writeFrame (body: Uint8Array): Promise<Uint8Array> {
  const [out, inn] = await streamPair()
  const chunks: Uint8Array[] = []
  const reading = (async () => { for await (const chunk of inn) chunks.push(chunk.subarray()) })()
  await frames(out, Number.MAX_SAFE_INTEGER).write(body)
  await out.close()
  await reading
  return new Uint8Array(Buffer.concat(chunks))
}

/** One frame read by src's frame reader from `bytes` as a peer sent them. */
async function readFrame (bytes: Uint8Array, max: number, inspect?: (head: Uint8Array) => void): Promise<Uint8Array> {
  const [out, inn] = await streamPair()
  const writing = (async () => { out.send(bytes); await out.close() })()
  try {
    const frame = await frames(inn, max, inspect === undefined ? {} : { inspect: { bytes: 1024, check: inspect } }).read({ signal: AbortSignal.timeout(10_000) })
    return frame.subarray()
  } finally {
    await writing
    inn.abort(new Error('done'))
  }
}

/** §10: a sync frame as a session reads it; any refusal ends the session (ERR_SYNC). */
async function readSyncFrame (bytes: Uint8Array, first: boolean): Promise<string> {
  const sync = (why: string): IpmsError => new IpmsError('ERR_SYNC', why)
  let m: Record<string, unknown>
  try {
    const body = await readFrame(bytes, first ? MAX_SYNC_HELLO_BYTES : MAX_SYNC_FRAME_BYTES, first ? head => { refuseBadHead(head, SYNC_FRAME_LIMITS, 'sync hello') } : undefined)
    m = decodeCbor(body, MAX_SYNC_FRAME_BYTES, 'sync frame', SYNC_FRAME_LIMITS) as Record<string, unknown>
  } catch (err) { throw sync((err as Error).message) }
  if (typeof m !== 'object' || m === null || m.v !== 1 || typeof m.t !== 'string') throw sync('shape')
  if (m.t === 'hello' || m.t === 'end') {
    if (m.t === 'hello' && typeof m.inbox !== 'string') throw sync('inbox')
    hashList(m.heads); hashList(m.have); envelopeList(m.want)
  }
  if (m.t === 'blocks') {
    if (!Array.isArray(m.blocks)) throw sync('blocks')
    for (const block of m.blocks as Array<Record<string, unknown>>) {
      if (!isBytes(block?.c) || !isBytes(block?.b)) throw sync('block')
      const cid = CID.decode(block.c)
      const digest = await sha256.digest(block.b)
      if (!cid.equals(CID.create(1, cid.code, digest))) throw sync('block hash')
    }
  }
  return m.t
}

export const srcOperations: Operations = async (op, input) => {
  const i = input
  switch (op) {
    case 'seal-mail': {
      const sealed = await sealMail(fromJson(i.mail) as Draft, {
        from: await identityFromSeed(unhex(str(i.senderSeed))),
        to: str(i.recipient),
        inbox: str(i.inbox),
        randomness: { ephemeralSecret: unhex(str(i.ephemeralSecret)), nonce: unhex(str(i.nonce)) }
      })
      return { sig: hex(sealed.mail.sig), plaintext: hex(encodeCbor(sealed.mail)), envelope: hex(sealed.envelope), cid: sealed.cid.toString() }
    }
    case 'open-mail': {
      const mail = openMail(unhex(str(i.envelope)), { identity: await identityFromSeed(unhex(str(i.seed))), inbox: str(i.inbox) })
      return { from: mail.from, id: mail.id, plaintext: hex(encodeCbor(mail)) }
    }
    case 'read-identity':
      return { peerId: (await decodeIdentityFile(str(i.file), i.passphrase === undefined ? {} : { passphrase: str(i.passphrase) })).peerId }
    case 'read-backup': {
      const backup = await decodeBackup(str(i.file), str(i.passphrase))
      return { peerId: backup.identity.peerId, keyEncrypted: backup.keyEncrypted, files: Object.keys(backup.files).sort() }
    }
    case 'read-kubo-identity':
      return { peerId: importKuboIdentity(str(i.config)).peerId }
    case 'peer-id': {
      const id = await identityFromSeed(unhex(str(i.seed)))
      return { publicKey: hex(id.publicKey), peerId: id.peerId }
    }
    case 'inbox-address': {
      const params = inboxParams(str(i.owner), num(i.bits))
      return { accessBlock: hex(accessBlock(params).bytes), accessAddress: accessAddress(params), manifest: hex(manifestBlock(params).bytes), inbox: inboxAddress(str(i.owner), num(i.bits)) }
    }
    case 'pow-challenge': {
      const required = requiredPowBits(num(i.bits), num(i.size))
      return { required, challenge: hex(powChallenge({ bits: required, ts: num(i.ts), inbox: str(i.inbox), envelopeCid: CID.parse(str(i.env)) })) }
    }
    case 'check-mail-payload':
      fail(mailPayloadProblem(decodeCbor(unhex(str(i.payload)), 4096, 'MAIL payload'), str(i.inbox), num(i.bits)))
      return {}
    case 'sign-prune': {
      const payload = signPrune(str(i.inbox), i.entries as string[], num(i.ts), unhex(str(i.seed)))
      return { signingInput: hex(pruneSigningInput(str(i.inbox), i.entries as string[], num(i.ts))), payload: hex(encodeCbor(payload)) }
    }
    case 'check-prune-payload':
      fail(prunePayloadProblem(decodeCbor(unhex(str(i.payload)), 1 << 20, 'PRUNE payload'), str(i.inbox), parsePeerId(str(i.owner)).publicKey))
      return {}
    case 'entry': {
      const seed = unhex(str(i.seed))
      const key = hex((await identityFromSeed(seed)).publicKey)
      const identity = { publicKey: key, hash: key, sign: async (_: unknown, data: Uint8Array) => hex(signEd25519(seed, data)) }
      const created = await Entry.create(identity as never, str(i.inbox), decodeCbor(unhex(str(i.payload)), 1 << 20, 'payload'), undefined, { id: key, time: num(i.time) }, i.next as string[], [])
      const { hash, bytes } = await Entry.encode({ ...created, identity: created.key })
      return { block: hex(bytes), hash }
    }
    case 'check-entry': {
      const bytes = unhex(str(i.block))
      const entry = decodeCbor(bytes, 1 << 20, 'entry') as Record<string, unknown>
      fail(inboxRules(inboxParams(str(i.owner), num(i.bits)))(entry))
      if (!await verifyEntrySignature(entry as never, async () => false)) throw new IpmsError('ERR_BAD_SIGNATURE', 'the entry is not signed by its key')
      const { hash } = await Entry.encode(entry as never)
      return { hash }
    }
    case 'sign-record': {
      const { prefix, tag } = RECORDS[i.kind as keyof typeof RECORDS]
      const record = signRecord(tag, await identityFromSeed(unhex(str(i.seed))), fromJson(i.fields) as Record<string, unknown>)
      const { sig, ...unsigned } = record
      return { signingInput: hex(taggedBytes(tag, encodeCbor(unsigned))), bytes: hex(encodeCbor(record)), text: encodeRecord(prefix, record) }
    }
    case 'verify-record': {
      const source = i.text !== undefined ? str(i.text) : unhex(str(i.bytes))
      const now = i.now as number | undefined
      if (i.kind === 'grant') verifyGrant(source, { host: i.host as string | undefined, now: now ?? 0 })
      else if (i.kind === 'pass') verifyPass(source, { owner: i.owner as string | undefined, now: now ?? 0 })
      else verifyCard(source, { owner: i.owner as string | undefined })
      return {}
    }
    case 'sign-receipt': {
      const host = await identityFromSeed(unhex(str(i.seed)))
      const unsigned = { v: 1, inbox: str(i.inbox), entry: str(i.entry), env: str(i.env), host: host.peerId, time: num(i.time) } as const
      const signingInput = receiptSigningInput(unsigned)
      return { signingInput: hex(signingInput), receipt: hex(encodeCbor({ ...unsigned, sig: signEd25519(host.seed, signingInput) })) }
    }
    case 'verify-receipt': {
      // A receipt travels inside the host's answer, whose decoding deliverTo does (read-deliver-answer).
      let value: unknown
      try { value = decodeCbor(unhex(str(i.receipt)), 1 << 20, 'receipt') } catch (err) { throw new IpmsError('ERR_BAD_RECEIPT', (err as Error).message) }
      verifyReceipt(value, { inbox: str(i.inbox), env: str(i.env), host: str(i.host) })
      return {}
    }
    case 'hosts-record': {
      let now = 0
      const validate = createHostsRecordValidator({ now: () => now })
      const verdicts = (i.steps as Array<Record<string, unknown>>).map(step => {
        now = num(step.now)
        try { validate(new TextEncoder().encode(str(step.key)), unhex(str(step.value))); return 'ok' } catch (err) { return (err as IpmsError).code ?? 'uncoded' }
      })
      return { verdicts }
    }
    case 'encode-frame':
      return { frame: hex(await writeFrame(encodeCbor(fromJson(i.message)))) }
    case 'read-deliver-request': {
      // The host's checks that need no inbox, in its order (deliver.ts, `handle` then `check`).
      const body = await readFrame(unhex(str(i.frame)), MAX_DELIVER_FRAME_BYTES, head => { refuseBadHead(head, DELIVER_REQUEST_LIMITS, 'deliver request') })
      const r = decodeCbor(body, MAX_DELIVER_FRAME_BYTES, 'deliver request', DELIVER_REQUEST_LIMITS)
      if (!isPlainMap(r) || !(hasExactly(r, DELIVER_FIELDS) || hasExactly(r, [...DELIVER_FIELDS, 'pass'].sort()))) throw new IpmsError('ERR_MALFORMED', 'fields')
      if (r.v !== 1 || r.t !== 'deliver' || typeof r.inbox !== 'string' || !isBytes(r.envelope)) throw new IpmsError('ERR_MALFORMED', 'not a v1 deliver request')
      fail(mailPayloadShapeProblem(r.mail))
      return { inbox: r.inbox, env: (r.mail as { env: string }).env }
    }
    case 'read-deliver-answer': {
      // The bytes of one frame as src's frame reader gives them, then the sender's reading of them.
      try {
        const receipt = deliverAnswer(await readFrame(unhex(str(i.frame)), MAX_DELIVER_FRAME_BYTES), { inbox: str(i.inbox), env: str(i.env), host: str(i.host) })
        return { entry: receipt.entry, time: receipt.time }
      } catch (err) {
        if (!(err instanceof DeliveryRefusedError) || err.code === 'ERR_BAD_RECEIPT') throw err
        return { refused: err.code, hostTime: err.hostTime ?? null, expired: err.expired ?? null }
      }
    }
    case 'read-sync-frame':
      return { t: await readSyncFrame(unhex(str(i.frame)), i.first === true) }
    default:
      throw new IpmsError('ERR_INVALID_ARGUMENT', `unknown operation ${op}`)
  }
}
