/**
 * The conformance operations (docs/PROTOCOL.md §7) over the independent reference
 * (test/helpers/reference.ts): written from the spec alone, never importing src/. The vector
 * generator takes its expected outputs from here; the tests and `npm run conformance` check that
 * src/ (ops-src.ts) answers the same.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { ed25519 } from '@noble/curves/ed25519.js'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import {
  RefError, isCanonicalCid, referenceCid, referenceCheckMail, referenceCheckPrune, referenceDecode, referenceEntry, referenceFrame, referenceHostsValidator,
  referenceInbox, referencePeerId, referencePeerKey, referencePowChallenge, referenceReadBackup, referenceReadIdentity, referenceReadKuboIdentity, referenceReadMail, referenceSeal, referenceSignMail, referencePruneInput, referenceRefusalCode,
  referenceRequiredBits, referenceSignReceipt, referenceSignRecord, referenceUnframe, referenceVerifyReceipt, referenceVerifyRecord,
  type RecordKind
} from '../helpers/reference.ts'
import { fromJson, hex, unhex, type Operations } from './json.ts'

const MiB = 1024 * 1024
const str = (v: unknown): string => v as string
const num = (v: unknown): number => v as number

/** §9.3: an inbox entry's shape, then its payload's rules, then its signature. */
function checkEntry (block: Uint8Array, owner: string, bits: number): string {
  const { inbox } = referenceInbox(owner, bits)
  const e = referenceDecode(block) as Record<string, unknown>
  const fail = (why: string): never => { throw new RefError('ERR_MALFORMED', why) }
  if (typeof e !== 'object' || e === null || Array.isArray(e)) fail('not a map')
  const keys = ['v', 'id', 'clock', 'next', 'refs', 'payload', 'key', 'identity', 'sig']
  if (Object.keys(e).length !== keys.length || !keys.every(k => Object.hasOwn(e, k))) fail('fields')
  if (e.v !== 2 || e.id !== inbox) fail('v or id')
  const key = e.key; const sig = e.sig
  if (typeof key !== 'string' || !/^[0-9a-f]{64}$/.test(key) || e.identity !== key) fail('key or identity')
  if (typeof sig !== 'string' || !/^[0-9a-f]{128}$/.test(sig)) fail('sig')
  const clock = e.clock as Record<string, unknown>
  if (typeof clock !== 'object' || clock === null || Object.keys(clock).length !== 2 || clock.id !== key || !Number.isSafeInteger(clock.time) || num(clock.time) < 1 || num(clock.time) > 2 ** 40) fail('clock')
  const links = [e.next, e.refs]
  for (const list of links) {
    if (!Array.isArray(list) || list.length > 64 || new Set(list).size !== list.length) fail('next or refs')
    if (!(list as unknown[]).every(h => isCanonicalCid(h, 'base58btc'))) fail('hash')
  }
  if ((e.next as string[]).some(h => (e.refs as string[]).includes(h))) fail('next and refs overlap')
  const payload = e.payload as Record<string, unknown>
  if (payload?.op === 'MAIL') referenceCheckMail(payload, inbox, bits)
  else if (payload?.op === 'PRUNE') referenceCheckPrune(payload, inbox, owner)
  else fail('op')
  const signed = dagCbor.encode({ id: e.id, payload: e.payload, next: e.next, refs: e.refs, clock: e.clock, v: e.v })
  if (!ed25519.verify(unhex(sig as string), signed, unhex(key as string))) throw new RefError('ERR_BAD_SIGNATURE', 'entry signature')
  return referenceCid(block).toString(base58btc)
}

/** §10: what a sync reader takes from one frame; every refusal ends the session (ERR_SYNC). */
function readSyncFrame (frame: Uint8Array, first: boolean): string {
  try {
    const m = referenceDecode(referenceUnframe(frame, first ? MiB : 4 * MiB + 64 * 1024), 65_536, 3) as Record<string, unknown>
    if (typeof m !== 'object' || m === null || m.v !== 1 || typeof m.t !== 'string') throw new RefError('ERR_SYNC', 'shape')
    const hashes = (v: unknown): boolean => Array.isArray(v) && v.length <= 4096 && v.every(h => isCanonicalCid(h, 'base58btc'))
    const envs = (v: unknown): boolean => v === undefined || (Array.isArray(v) && v.length <= 4096 && v.every(h => isCanonicalCid(h, 'base32')))
    if (m.t === 'hello' && (typeof m.inbox !== 'string' || !hashes(m.heads) || !hashes(m.have) || !envs(m.want))) throw new RefError('ERR_SYNC', 'hello')
    if (m.t === 'end' && (!hashes(m.heads) || !hashes(m.have) || !envs(m.want))) throw new RefError('ERR_SYNC', 'end')
    if (m.t === 'blocks') {
      if (!Array.isArray(m.blocks)) throw new RefError('ERR_SYNC', 'blocks')
      for (const b of m.blocks as Array<Record<string, unknown>>) {
        if (!(b?.c instanceof Uint8Array) || !(b?.b instanceof Uint8Array)) throw new RefError('ERR_SYNC', 'block')
        if (!CID.decode(b.c).equals(referenceCid(b.b))) throw new RefError('ERR_SYNC', 'block hash')
      }
    }
    return m.t
  } catch (err) {
    throw new RefError('ERR_SYNC', (err as Error).message)
  }
}

/** §12: a host's answer or receipt that cannot be read is no receipt (the mail stays in the outbox). */
function noReceiptUnless (decode: () => unknown): unknown {
  try { return decode() } catch (err) { throw new RefError('ERR_BAD_RECEIPT', (err as Error).message) }
}

export const referenceOperations: Operations = async (op, input) => {
  const i = input
  switch (op) {
    case 'seal-mail': {
      const seed = unhex(str(i.senderSeed))
      const mail = referenceSignMail({ v: 1, from: referencePeerId(ed25519.getPublicKey(seed)), to: i.recipient, ...fromJson(i.mail) as object }, seed)
      const plaintext = dagCbor.encode(mail)
      const envelope = referenceSeal(plaintext, referencePeerKey(i.recipient), str(i.inbox), unhex(str(i.ephemeralSecret)), unhex(str(i.nonce)))
      return { sig: hex(mail.sig as Uint8Array), plaintext: hex(plaintext), envelope: hex(envelope), cid: referenceCid(envelope).toString() }
    }
    case 'open-mail': {
      const mail = referenceReadMail(unhex(str(i.envelope)), unhex(str(i.seed)), str(i.inbox))
      return { from: mail.from, id: mail.id, plaintext: hex(dagCbor.encode(mail)) }
    }
    case 'read-identity':
      return { peerId: referenceReadIdentity(str(i.file), i.passphrase as string | undefined) }
    case 'read-backup':
      return referenceReadBackup(str(i.file), str(i.passphrase))
    case 'read-kubo-identity':
      return { peerId: referenceReadKuboIdentity(str(i.config)) }
    case 'peer-id': {
      const publicKey = ed25519.getPublicKey(unhex(str(i.seed)))
      return { publicKey: hex(publicKey), peerId: referencePeerId(publicKey) }
    }
    case 'inbox-address': {
      const r = referenceInbox(str(i.owner), num(i.bits))
      return { accessBlock: hex(r.accessBlock), accessAddress: r.accessAddress, manifest: hex(r.manifest), inbox: r.inbox }
    }
    case 'pow-challenge': {
      const required = referenceRequiredBits(num(i.bits), num(i.size))
      return { required, challenge: hex(referencePowChallenge(required, num(i.ts), str(i.inbox), str(i.env))) }
    }
    case 'check-mail-payload':
      referenceCheckMail(referenceDecode(unhex(str(i.payload))), str(i.inbox), num(i.bits))
      return {}
    case 'sign-prune': {
      const signingInput = referencePruneInput(str(i.inbox), i.entries as string[], num(i.ts))
      const payload = { op: 'PRUNE', v: 1, entries: i.entries, ts: i.ts, sig: ed25519.sign(signingInput, unhex(str(i.seed))) }
      return { signingInput: hex(signingInput), payload: hex(dagCbor.encode(payload)) }
    }
    case 'check-prune-payload':
      referenceCheckPrune(referenceDecode(unhex(str(i.payload))), str(i.inbox), str(i.owner))
      return {}
    case 'entry': {
      const e = referenceEntry(unhex(str(i.seed)), str(i.inbox), dagCbor.decode(unhex(str(i.payload))), i.next as string[], num(i.time))
      return { block: hex(e.block), hash: e.hash }
    }
    case 'check-entry':
      return { hash: checkEntry(unhex(str(i.block)), str(i.owner), num(i.bits)) }
    case 'sign-record': {
      const r = referenceSignRecord(i.kind as RecordKind, unhex(str(i.seed)), fromJson(i.fields) as Record<string, unknown>)
      return { signingInput: hex(r.signingInput), bytes: hex(r.bytes), text: r.text }
    }
    case 'verify-record':
      referenceVerifyRecord(i.kind as RecordKind, i.text !== undefined ? str(i.text) : unhex(str(i.bytes)), { now: i.now as number | undefined, host: i.host as string | undefined, owner: i.owner as string | undefined })
      return {}
    case 'sign-receipt': {
      const r = referenceSignReceipt(unhex(str(i.seed)), { inbox: str(i.inbox), entry: str(i.entry), env: str(i.env), time: num(i.time) })
      return { signingInput: hex(r.signingInput), receipt: hex(dagCbor.encode(r.receipt)) }
    }
    case 'verify-receipt':
      referenceVerifyReceipt(noReceiptUnless(() => referenceDecode(unhex(str(i.receipt)))), { inbox: str(i.inbox), env: str(i.env), host: str(i.host) })
      return {}
    case 'hosts-record': {
      const validate = referenceHostsValidator()
      const verdicts = (i.steps as Array<Record<string, unknown>>).map(step => {
        try { validate(str(step.key), unhex(str(step.value)), num(step.now)); return 'ok' } catch (err) { return (err as RefError).code ?? 'uncoded' }
      })
      return { verdicts }
    }
    case 'encode-frame':
      return { frame: hex(referenceFrame(dagCbor.encode(fromJson(i.message)))) }
    case 'read-deliver-request': {
      const body = referenceUnframe(unhex(str(i.frame)), 4 * MiB + 16 * 1024)
      const r = referenceDecode(body, 32, 2) as Record<string, unknown>
      const fields = ['v', 't', 'inbox', 'mail', 'envelope', ...('pass' in (r ?? {}) ? ['pass'] : [])]
      if (typeof r !== 'object' || r === null || Object.keys(r).length !== fields.length || !fields.every(k => Object.hasOwn(r, k))) throw new RefError('ERR_MALFORMED', 'fields')
      if (r.v !== 1 || r.t !== 'deliver' || typeof r.inbox !== 'string' || !(r.envelope instanceof Uint8Array)) throw new RefError('ERR_MALFORMED', 'not a v1 deliver request')
      try { referenceCheckMail(r.mail, r.inbox, 0) } catch (err) { if ((err as RefError).code === 'ERR_MALFORMED') throw err }
      return { inbox: r.inbox, env: (r.mail as Record<string, unknown>).env }
    }
    case 'read-deliver-answer': {
      const a = noReceiptUnless(() => referenceDecode(referenceUnframe(unhex(str(i.frame)), 4 * MiB + 16 * 1024), 24, 2)) as Record<string, unknown>
      if (a?.t === 'refused') {
        const when = (code: string, value: unknown): unknown => a.code === code && Number.isSafeInteger(value) && num(value) >= 0 ? value : null
        return { refused: referenceRefusalCode(a.code), hostTime: when('ERR_STALE', a.time), expired: when('ERR_GRANT_EXPIRED', a.expired) }
      }
      if (a?.t !== 'receipt') throw new RefError('ERR_BAD_RECEIPT', 'no receipt')
      referenceVerifyReceipt(a.receipt, { inbox: str(i.inbox), env: str(i.env), host: str(i.host) })
      const r = a.receipt as Record<string, unknown>
      return { entry: r.entry, time: r.time }
    }
    case 'read-sync-frame':
      return { t: readSyncFrame(unhex(str(i.frame)), i.first === true) }
    default:
      throw new RefError('ERR_INVALID_ARGUMENT', `unknown operation ${op}`)
  }
}
