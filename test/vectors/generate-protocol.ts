/**
 * Writes test/vectors/protocol-v1.json: known-answer vectors for every signed, hashed or framed
 * format of docs/PROTOCOL.md but the envelope (envelope-v1.json) and the identity file
 * (identity/), and the inputs each format MUST refuse, with the error code (§7, §8).
 *
 * Fixed seeds, no clock, no randomness: running it again gives the same file. Expected outputs
 * come from the independent reference (test/conformance/ops-reference.ts over
 * test/helpers/reference.ts), never from src/; a refusal declared here is checked against the
 * reference before it is written. Run: `npx node test/vectors/generate-protocol.ts [output path]`.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import * as dagCbor from '@ipld/dag-cbor'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { base36 } from 'multiformats/bases/base36'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import {
  referenceCid, referenceEnvelopeKey, referenceFrame, referenceIdentityAad, referenceIdentityKey, referencePad, referenceSealPadded, referenceInbox, referencePeerId, referencePowChallenge, referenceRequiredBits,
  referenceSeal, referenceSignMail, referenceSignReceipt, referenceSignRecord, referenceSolve, referenceTagged, type RecordKind
} from '../helpers/reference.ts'
import { answer, hex, toJson, type Vector } from '../conformance/json.ts'
import { referenceOperations } from '../conformance/ops-reference.ts'

const fill = (n: number, start: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff)
const seeds = { owner: fill(32, 0x41), host: fill(32, 0x61), cohost: fill(32, 0x71), writer: fill(32, 0x01), stranger: fill(32, 0x91) }
const peer = (seed: Uint8Array): string => referencePeerId(ed25519.getPublicKey(seed))
const owner = peer(seeds.owner); const host = peer(seeds.host); const cohost = peer(seeds.cohost); const stranger = peer(seeds.stranger)
/** An address in its CIDv1 form (codec libp2p-key): accepted as input, never written in a structure (§2). */
const asCid = (seed: Uint8Array): string => CID.create(1, 0x72, Digest.create(0x00, Uint8Array.from([0x08, 0x01, 0x12, 0x20, ...ed25519.getPublicKey(seed)]))).toString()
const hostAsCid = asCid(seeds.host)
const T0 = 1767225600000 // 2026-01-01T00:00Z
const DAY = 86_400_000
const BITS = 8 // a cheap inbox difficulty, so that the generator solves stamps in milliseconds
const inbox = referenceInbox(owner, BITS).inbox
const inbox24 = referenceInbox(owner, 24).inbox

const vectors: Vector[] = []
/** Add a vector whose expected answer is the reference's; `error`, when given, must be what the reference answers. */
async function add (name: string, op: string, input: Record<string, unknown>, error?: string): Promise<Record<string, unknown>> {
  const got = await answer(referenceOperations, op, input)
  if (error !== undefined) {
    if (!('error' in got) || got.error !== error) throw new Error(`${name}: the reference answers ${JSON.stringify(got).slice(0, 200)}, not ${error}`)
    vectors.push({ name, op, input, error })
    return {}
  }
  if ('error' in got) throw new Error(`${name}: the reference refuses it (${got.error})`)
  vectors.push({ name, op, input, output: got.output })
  return got.output
}
/** Attach informative intermediate values (hex for bytes) to the vector just added. */
const explain = (values: Record<string, unknown>): void => {
  vectors[vectors.length - 1]!.intermediate = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v instanceof Uint8Array ? hex(v) : v]))
}
/** Replace the first occurrence of hex `from` by `to` in `bytes`' hex: a hand-made non-canonical or damaged encoding. */
const patch = (bytes: Uint8Array | string, from: string, to: string): string => {
  const text = typeof bytes === 'string' ? bytes : hex(bytes)
  if (!text.includes(from)) throw new Error(`patch: ${from} not found`)
  return text.replace(from, to)
}
const utf8Text = (text: string): Uint8Array => new TextEncoder().encode(text)
const cborHex = (value: unknown): string => hex(dagCbor.encode(value))
const textKey = (k: string): string => hex(dagCbor.encode(k))

// ── §2 addresses ───────────────────────────────────────────────────────────────────────────────
for (const [role, seed] of Object.entries(seeds)) await add(`address of the ${role} seed`, 'peer-id', { seed: hex(seed) })

// ── §6 identity files (the committed ones in identity/, and variants the reader must refuse) ───
const idDir = new URL('./identity/', import.meta.url)
const idText = (name: string): string => readFileSync(new URL(name, idDir), 'utf8')
const idExpected = JSON.parse(idText('expected.json')) as Record<string, string>
await add('identity file, unencrypted (identity/identity-plain.json)', 'read-identity', { file: idText('identity-plain.json') })
await add('identity file under a passphrase, scrypt N = 2^10 (identity/identity-encrypted.json)', 'read-identity', { file: idText('identity-encrypted.json'), passphrase: idExpected.passphrase })
await add('kubo config with an Ed25519 identity (identity/kubo-config.json)', 'read-kubo-identity', { config: idText('kubo-config.json') })
const plainDoc = JSON.parse(idText('identity-plain.json')) as Record<string, unknown>
const encDoc = JSON.parse(idText('identity-encrypted.json')) as Record<string, any>
const json = (value: unknown): string => JSON.stringify(value, null, 2)
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64')
const ownerProtobuf = Uint8Array.from([0x08, 0x01, 0x12, 0x40, ...seeds.owner, ...ed25519.getPublicKey(seeds.owner)])
/** The passphrase box of §6 (N = 2^10, fixed salt and nonce) over `plaintext` with `aad`. */
const box = (passphrase: string, aad: Uint8Array, plaintext: Uint8Array): Record<string, unknown> => {
  const salt = fill(16, 0x30); const nonce = fill(24, 0x50)
  const ct = xchacha20poly1305(referenceIdentityKey(passphrase, salt, 1024, 8, 1), nonce, aad).encrypt(plaintext)
  return { kdf: 'scrypt', N: 1024, r: 8, p: 1, salt: b64(salt), nonce: b64(nonce), ct: b64(ct) }
}
/** An identity file encrypted under `passphrase` with the reference, for the owner seed. */
const encryptedFile = (passphrase: string): string => json({ type: 'ipms-identity', v: 1, peerId: owner, encrypted: box(passphrase, referenceIdentityAad(owner), ownerProtobuf) })
await add('identity file whose passphrase is given in another Unicode form (NFD): scrypt takes it in NFC', 'read-identity', { file: encryptedFile('café'), passphrase: 'cafe\u0301' })
explain({ key: referenceIdentityKey('café', fill(16, 0x30), 1024, 8, 1), aad: referenceIdentityAad(owner) })
const badIdentity = async (name: string, file: string, code: string, passphrase?: string): Promise<void> => {
  await add(`refused identity file: ${name}`, 'read-identity', { file, ...(passphrase === undefined ? {} : { passphrase }) }, code)
}
await badIdentity('encrypted, no passphrase given', idText('identity-encrypted.json'), 'ERR_PASSPHRASE_REQUIRED')
await badIdentity('the wrong passphrase', idText('identity-encrypted.json'), 'ERR_WRONG_PASSPHRASE', 'Correct horse battery staple ✓')
await badIdentity('encrypted, its peerId replaced by another address (the AAD differs)', json({ ...encDoc, peerId: stranger }), 'ERR_WRONG_PASSPHRASE', idExpected.passphrase)
await badIdentity('unencrypted, its peerId replaced by another address', json({ ...plainDoc, peerId: stranger }), 'ERR_KEY_FILE_CORRUPT')
await badIdentity('version 2', json({ ...plainDoc, v: 2 }), 'ERR_UNSUPPORTED_VERSION')
await badIdentity('a version that is not a number', json({ ...plainDoc, v: '1' }), 'ERR_KEY_FILE_CORRUPT')
await badIdentity('another type', json({ ...plainDoc, type: 'kubo-identity' }), 'ERR_KEY_FILE_CORRUPT')
await badIdentity('both key and encrypted', json({ ...plainDoc, encrypted: encDoc.encrypted }), 'ERR_KEY_FILE_CORRUPT')
await badIdentity('key not in base64', json({ ...plainDoc, key: 'not base64!' }), 'ERR_KEY_FILE_CORRUPT')
await badIdentity('scrypt N = 2^21 (over the bound)', json({ ...encDoc, encrypted: { ...encDoc.encrypted, N: 2 ** 21 } }), 'ERR_KEY_FILE_CORRUPT', idExpected.passphrase)
await badIdentity('scrypt N not a power of two', json({ ...encDoc, encrypted: { ...encDoc.encrypted, N: 1000 } }), 'ERR_KEY_FILE_CORRUPT', idExpected.passphrase)
await badIdentity('scrypt r = 33 (over the bound)', json({ ...encDoc, encrypted: { ...encDoc.encrypted, r: 33 } }), 'ERR_KEY_FILE_CORRUPT', idExpected.passphrase)
await badIdentity('a salt of 15 bytes', json({ ...encDoc, encrypted: { ...encDoc.encrypted, salt: Buffer.from(fill(15, 0)).toString('base64') } }), 'ERR_KEY_FILE_CORRUPT', idExpected.passphrase)
await badIdentity('not JSON', '{ "type": "ipms-identity", ', 'ERR_KEY_FILE_CORRUPT')
// §6.1 backups: the owner's key and files under a backup passphrase.
const backupFile = (content: Record<string, unknown>, fields: Record<string, unknown> = {}, peerId = owner): string =>
  json({ type: 'ipms-backup', v: 1, peerId, created: T0, encrypted: box('backup pass', referenceTagged('ipms/backup/v1', new TextEncoder().encode(peerId)), new TextEncoder().encode(JSON.stringify(content))), ...fields })
const backupContent = { key: b64(ownerProtobuf), keyEncrypted: true, files: { 'contacts.json': json({ v: 1, contacts: {} }), 'config.json': json({ bits: 24, mdns: true }) } }
await add('backup of a key that had a passphrase, with contacts.json and config.json', 'read-backup', { file: backupFile(backupContent), passphrase: 'backup pass' })
const badBackup = async (name: string, file: string, code = 'ERR_INVALID_RECORD', passphrase = 'backup pass'): Promise<void> => { await add(`refused backup: ${name}`, 'read-backup', { file, passphrase }, code) }
await badBackup('the wrong passphrase', backupFile(backupContent), 'ERR_WRONG_PASSPHRASE', 'Backup pass')
await badBackup('moved under another address (the AAD differs)', json({ ...JSON.parse(backupFile(backupContent)), peerId: stranger }), 'ERR_WRONG_PASSPHRASE')
await badBackup('sealed for another address than its key\'s', backupFile(backupContent, {}, stranger))
await badBackup('version 2', backupFile(backupContent, { v: 2 }), 'ERR_UNSUPPORTED_VERSION')
await badBackup('a created time that is negative', backupFile(backupContent, { created: -1 }))
await badBackup('a file a backup never holds', backupFile({ ...backupContent, files: { 'identity.json': '{}' } }))
await badBackup('a file that is not a JSON object', backupFile({ ...backupContent, files: { 'hosts.json': '[]' } }))
await badBackup('a config.json with a field the config rules do not know', backupFile({ ...backupContent, files: { 'config.json': json({ colour: 'blue' }) } }))
await badBackup('keyEncrypted not a boolean', backupFile({ ...backupContent, keyEncrypted: 'yes' }))
const kuboDoc = JSON.parse(idText('kubo-config.json')) as Record<string, any>
await add('refused kubo config: a secp256k1 identity', 'read-kubo-identity', { config: json({ ...kuboDoc, Identity: { PrivKey: Buffer.from([0x08, 0x02, 0x12, 0x20, ...fill(32, 0x11)]).toString('base64') } }) }, 'ERR_UNSUPPORTED_KEY_TYPE')
await add('refused kubo config: a PeerID that is not the key\'s', 'read-kubo-identity', { config: json({ ...kuboDoc, Identity: { ...kuboDoc.Identity, PeerID: stranger } }) }, 'ERR_KEY_FILE_CORRUPT')

// ── §9.1 inbox address ─────────────────────────────────────────────────────────────────────────
await add('inbox address at the default difficulty (24)', 'inbox-address', { owner, bits: 24 })
await add('inbox address at difficulty 8 (the inbox of the vectors below)', 'inbox-address', { owner, bits: BITS })
await add('inbox address at difficulty 0', 'inbox-address', { owner: host, bits: 0 })
await add('inbox address of an owner given in CIDv1 form (base32): the same as the canonical form\'s', 'inbox-address', { owner: asCid(seeds.owner), bits: 24 })
await add('inbox address of an owner given in CIDv1 form (base36)', 'inbox-address', { owner: CID.parse(asCid(seeds.owner)).toString(base36), bits: 24 })
await add('refused: difficulty 41 is out of range', 'inbox-address', { owner, bits: 41 }, 'ERR_INVALID_ARGUMENT')
await add('refused: an RSA peer-id', 'inbox-address', { owner: 'QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC', bits: 24 }, 'ERR_UNSUPPORTED_KEY_TYPE')
await add('refused: an Ed25519 key of small order (nobody holds its secret)', 'inbox-address', { owner: referencePeerId(Uint8Array.from([1, ...new Uint8Array(31)])), bits: 24 }, 'ERR_INVALID_PEER_ID')
await add('refused: not a peer-id', 'inbox-address', { owner: '12D3KooWnotapeerid', bits: 24 }, 'ERR_INVALID_PEER_ID')

// ── an envelope for the inbox (§3, §4), so that the MAIL payloads and frames below are real ────
const mail = referenceSignMail({ v: 1, from: peer(seeds.writer), to: owner, date: T0, id: 'vector-deliver', subject: 'Hello', body: 'Delivered by the vectors.\n', attachments: [] }, seeds.writer)
const envelope = referenceSeal(dagCbor.encode(mail), ed25519.getPublicKey(seeds.owner), inbox, fill(32, 0x81), fill(24, 0xc1))
const env = referenceCid(envelope).toString()

// ── §3, §4 sealing and reading a mail ──────────────────────────────────────────────────────────
// The committed envelope vectors (envelope-v1.json), as operations: the reference must still give their bytes.
const committed = JSON.parse(readFileSync(new URL('./envelope-v1.json', import.meta.url), 'utf8')) as { vectors: Array<Record<string, any>> }
for (const v of committed.vectors) {
  const { v: _v, from: _f, to, ...fields } = v.mail as Record<string, unknown>
  const mailFields = JSON.parse(JSON.stringify(fields), (_k, x) => x !== null && typeof x === 'object' && typeof x.hex === 'string' ? { $hex: x.hex } : x)
  const out = await add(`seal: ${v.name as string} (envelope-v1.json)`, 'seal-mail', { senderSeed: v.senderSeed, recipient: to, inbox: v.inbox, ephemeralSecret: v.ephemeralSecret, nonce: v.nonce, mail: mailFields })
  if (out.envelope !== v.expected.envelope || out.sig !== v.expected.sig) throw new Error(`${v.name as string}: the reference no longer gives the committed envelope`)
  await add(`open: ${v.name as string} (envelope-v1.json)`, 'open-mail', { seed: v.recipientSeed, inbox: v.inbox, envelope: v.expected.envelope })
}
const ownCard = referenceSignRecord('card', seeds.writer, { bits: BITS, hosts: [{ peer: cohost, addrs: ['/dns4/mail.example/tcp/4001'] }], ts: T0 }).text
const withCard = await add('seal: a mail carrying its sender\'s card, to the inbox of the vectors', 'seal-mail', {
  senderSeed: hex(seeds.writer), recipient: owner, inbox, ephemeralSecret: hex(fill(32, 0x90)), nonce: hex(fill(24, 0xd0)),
  mail: { date: T0, id: 'vector-card', subject: 'Write back', body: 'My card is in this mail.\n', attachments: [], card: ownCard }
})
{
  const plaintext = Buffer.from(withCard.plaintext as string, 'hex')
  const { sig: _sig, ...unsigned } = dagCbor.decode(plaintext) as Record<string, unknown>
  const steps = referenceEnvelopeKey(ed25519.getPublicKey(seeds.owner), fill(32, 0x90))
  explain({ signingInput: referenceTagged('ipms/mail/v1', sha256(dagCbor.encode(unsigned))), ...steps, padded: referencePad(plaintext) })
}
await add('open: a mail carrying its sender\'s card', 'open-mail', { seed: hex(seeds.owner), inbox, envelope: withCard.envelope })
/** A mail signed by `signer` with exactly these fields, sealed to the owner for the inbox: refused for its content, not its envelope. */
const sealedMail = (fields: Record<string, unknown>, signer = seeds.writer): string =>
  hex(referenceSeal(dagCbor.encode(referenceSignMail({ v: 1, from: peer(signer), to: owner, date: T0, id: 'vector-bad', subject: 'x', body: 'y', attachments: [], ...fields }, signer)), ed25519.getPublicKey(seeds.owner), inbox, fill(32, 0x90), fill(24, 0xd0)))
const badOpen = async (name: string, envelopeHex: string, code: string, seed = seeds.owner, forInbox = inbox): Promise<void> => { await add(`refused open: ${name}`, 'open-mail', { seed: hex(seed), inbox: forInbox, envelope: envelopeHex }, code) }
const envValue = dagCbor.decode(Buffer.from(withCard.envelope as string, 'hex')) as Record<string, Uint8Array | number>
const ct = envValue.ct as Uint8Array
await badOpen('sealed to another key', withCard.envelope as string, 'ERR_NOT_FOR_RECIPIENT', seeds.stranger)
await badOpen('delivered to the owner\'s other inbox (another AAD)', withCard.envelope as string, 'ERR_TAMPERED', seeds.owner, inbox24)
await badOpen('one ciphertext byte changed', cborHex({ ...envValue, ct: Uint8Array.from(ct, (b, i) => i === 100 ? b ^ 1 : b) }), 'ERR_TAMPERED')
await badOpen('the ephemeral key changed', cborHex({ ...envValue, epk: Uint8Array.from(envValue.epk as Uint8Array, (b, i) => i === 0 ? b ^ 1 : b) }), 'ERR_NOT_FOR_RECIPIENT')
await badOpen('an all-zero ephemeral key', cborHex({ ...envValue, epk: new Uint8Array(32) }), 'ERR_NOT_FOR_RECIPIENT')
await badOpen('envelope version 2', cborHex({ ...envValue, v: 2 }), 'ERR_UNSUPPORTED_VERSION')
await badOpen('an extra envelope field', cborHex({ ...envValue, x: 1 }), 'ERR_MALFORMED')
await badOpen('a nonce of 23 bytes', cborHex({ ...envValue, nonce: (envValue.nonce as Uint8Array).subarray(1) }), 'ERR_MALFORMED')
await badOpen('non-canonical envelope: v as a two-byte integer', patch(withCard.envelope as string, textKey('v') + '01', textKey('v') + '1801'), 'ERR_MALFORMED')
const goodPlain = dagCbor.encode(referenceSignMail({ v: 1, from: peer(seeds.writer), to: owner, date: T0, id: 'vector-pad', subject: 'x', body: 'y', attachments: [] }, seeds.writer))
const padded = referencePad(goodPlain)
await badOpen('a padding byte that is not zero', hex(referenceSealPadded(Uint8Array.from(padded, (b, i) => i === padded.length - 1 ? 1 : b), ed25519.getPublicKey(seeds.owner), inbox, fill(32, 0x90), fill(24, 0xd0))), 'ERR_MALFORMED')
await badOpen('a length prefix past the bucket', hex(referenceSealPadded(Uint8Array.from(padded, (b, i) => i === 1 ? 0x10 : b), ed25519.getPublicKey(seeds.owner), inbox, fill(32, 0x90), fill(24, 0xd0))), 'ERR_MALFORMED')
await badOpen('mail version 2', sealedMail({ v: 2 }), 'ERR_UNSUPPORTED_VERSION')
await badOpen('a mail field this version does not have', sealedMail({ priority: 'high' }), 'ERR_MALFORMED')
await badOpen('a control character in the subject', sealedMail({ subject: 'Hi\rBcc: everyone' }), 'ERR_MALFORMED')
await badOpen('an attachment name with a path', sealedMail({ attachments: [{ name: '../.bashrc', type: 'text/plain', data: fill(4, 0) }] }), 'ERR_MALFORMED')
await badOpen('a negative date', sealedMail({ date: -1 }), 'ERR_MALFORMED')
await badOpen('a subject of 999 bytes', sealedMail({ subject: 'é'.repeat(499) + 'x' }), 'ERR_MALFORMED')
{
  // The signed mail encoded with `v` in a two-byte form: the signature is over the canonical bytes, the reader refuses these.
  const signedMail = dagCbor.encode(referenceSignMail({ v: 1, from: peer(seeds.writer), to: owner, date: T0, id: 'vector-bad', subject: 'x', body: 'y', attachments: [] }, seeds.writer))
  const loose = Buffer.from(patch(signedMail, textKey('v') + '01', textKey('v') + '1801'), 'hex')
  await badOpen('non-canonical mail: v as a two-byte integer', hex(referenceSeal(loose, ed25519.getPublicKey(seeds.owner), inbox, fill(32, 0x90), fill(24, 0xd0))), 'ERR_MALFORMED')
}
await badOpen('an id with a space', sealedMail({ id: 'not an id' }), 'ERR_MALFORMED')
await badOpen('inReplyTo null', sealedMail({ inReplyTo: null }), 'ERR_MALFORMED')
await badOpen('the sender written as a CID', sealedMail({ from: asCid(seeds.writer) }), 'ERR_MALFORMED')
await badOpen('signed by another key than from\'s', hex(referenceSeal(dagCbor.encode({ ...referenceSignMail({ v: 1, from: peer(seeds.writer), to: owner, date: T0, id: 'vector-bad', subject: 'x', body: 'y', attachments: [] }, seeds.stranger) }), ed25519.getPublicKey(seeds.owner), inbox, fill(32, 0x90), fill(24, 0xd0))), 'ERR_BAD_SIGNATURE')
await badOpen('written to someone else, re-sealed to the owner', sealedMail({ to: stranger }), 'ERR_MISADDRESSED')
await badOpen('written to the owner\'s address in its CID form', sealedMail({ to: asCid(seeds.owner) }), 'ERR_MISADDRESSED')
await badOpen('a card that is not the sender\'s', sealedMail({ card: referenceSignRecord('card', seeds.stranger, { bits: BITS, hosts: [], ts: T0 }).text }), 'ERR_MALFORMED')

// ── §5 stamps ──────────────────────────────────────────────────────────────────────────────────
await add('PROTOCOL §5 known answer: stamp bits 20', 'pow-challenge', { inbox: '/orbitdb/zdpuAmrcSRUhkQcnRQ6p4bphs7DJWGBkqczSGFYynX6moTcDL', bits: 20, size: 1120, ts: T0, env: 'bafyreia25rcgd5ngjjvuvoitznrx5qtrfrbrerllcrgx2eymbm4gymws7y' })
await add('stamp for a 256 KiB envelope at 24 bits: 26 bits', 'pow-challenge', { inbox: inbox24, bits: 24, size: 256 * 1024, ts: T0, env })
await add('stamp for a 4 MiB envelope at 40 bits: 46 bits', 'pow-challenge', { inbox: inbox24, bits: 40, size: 4 * 1024 * 1024, ts: T0, env })
await add('stamp for the vectors\' envelope at 8 bits', 'pow-challenge', { inbox, bits: BITS, size: envelope.length, ts: T0, env })

// ── §9.2 MAIL payload ──────────────────────────────────────────────────────────────────────────
const stamp = (size: number, ts: number, bits = BITS): Uint8Array => { const b = referenceRequiredBits(bits, size); return referenceSolve(referencePowChallenge(b, ts, inbox, env), b) }
const mailPayload = { op: 'MAIL', v: 1, env, size: envelope.length, ts: T0, pow: stamp(envelope.length, T0) }
const mailBytes = dagCbor.encode(mailPayload)
await add('MAIL payload with a valid stamp', 'check-mail-payload', { payload: hex(mailBytes), inbox, bits: BITS })
const badMail = async (name: string, payload: unknown, code = 'ERR_MALFORMED'): Promise<void> => { await add(`refused MAIL: ${name}`, 'check-mail-payload', { payload: typeof payload === 'string' ? payload : cborHex(payload), inbox, bits: BITS }, code) }
await add('refused MAIL: its stamp checked for the owner\'s 24-bit inbox', 'check-mail-payload', { payload: hex(mailBytes), inbox: inbox24, bits: 24 }, 'ERR_BAD_POW')
// A stamp made at the inbox's 8 bits for an envelope that needs 9 (§5.2): its challenge commits 8.
await badMail('a 200,000-byte envelope stamped at the inbox\'s bits, not the size\'s', { ...mailPayload, size: 200_000, pow: referenceSolve(referencePowChallenge(BITS, T0, inbox, env), BITS) }, 'ERR_BAD_POW')
await badMail('v 2', { ...mailPayload, v: 2 })
await badMail('an extra field', { ...mailPayload, x: 1 })
await badMail('size 0', { ...mailPayload, size: 0 })
await badMail('size over 4 MiB', { ...mailPayload, size: 4 * 1024 * 1024 + 1 })
await badMail('negative ts', { ...mailPayload, ts: -1 })
await badMail('ts past 2^53', patch(mailBytes, textKey('ts') + '1b' + hex(new Uint8Array(new BigUint64Array([BigInt(T0)]).buffer).reverse()), textKey('ts') + '1b0020000000000000'))
await badMail('pow of 7 bytes', { ...mailPayload, pow: fill(7, 0) })
await badMail('env as a CIDv1 in base58btc', { ...mailPayload, env: referenceCid(envelope).toString(base58btc) })
await badMail('env of a raw-codec CID', { ...mailPayload, env: 'bafkreia25rcgd5ngjjvuvoitznrx5qtrfrbrerllcrgx2eymbm4gymws7y' })
await badMail('non-canonical: v as a two-byte integer', patch(mailBytes, textKey('v') + '01', textKey('v') + '1801'))
await badMail('non-canonical: a trailing byte', hex(mailBytes) + '00')
await badMail('non-canonical: an indefinite-length map', 'bf' + hex(mailBytes).slice(2) + 'ff')

// ── §9.3 entries, §9.2 PRUNE ───────────────────────────────────────────────────────────────────
const mailEntry = await add('MAIL entry, first of the log (time 1)', 'entry', { seed: hex(seeds.writer), inbox, payload: hex(mailBytes), next: [], time: 1 })
await add('MAIL entry accepted by the inbox rules', 'check-entry', { block: mailEntry.block, owner, bits: BITS })
{
  const e = dagCbor.decode(Buffer.from(mailEntry.block as string, 'hex')) as Record<string, unknown>
  vectors.find(v => v.name === 'MAIL entry, first of the log (time 1)')!.intermediate = { signedBytes: hex(dagCbor.encode({ id: e.id, payload: e.payload, next: e.next, refs: e.refs, clock: e.clock, v: e.v })) }
}
const mailHash = mailEntry.hash as string
const prune = await add('PRUNE payload and its signing input', 'sign-prune', { seed: hex(seeds.owner), inbox, entries: [mailHash], ts: T0 + DAY })
await add('PRUNE payload accepted', 'check-prune-payload', { payload: prune.payload, inbox, owner })
const pruneEntry = await add('PRUNE entry on the MAIL entry (time 2)', 'entry', { seed: hex(seeds.owner), inbox, payload: prune.payload, next: [mailHash], time: 2 })
await add('PRUNE entry accepted by the inbox rules', 'check-entry', { block: pruneEntry.block, owner, bits: BITS })
const pruneBy = (seed: Uint8Array, forInbox: string, entries: string[]): string => cborHex({ op: 'PRUNE', v: 1, entries, ts: T0, sig: ed25519.sign(referenceTagged('ipms/prune/v1', dagCbor.encode({ inbox: forInbox, entries, ts: T0 })), seed) })
const badPrune = async (name: string, payload: string, code: string): Promise<void> => { await add(`refused PRUNE: ${name}`, 'check-prune-payload', { payload, inbox, owner }, code) }
await badPrune('signed by someone else', pruneBy(seeds.stranger, inbox, [mailHash]), 'ERR_BAD_SIGNATURE')
await badPrune('signed for the owner\'s other inbox', pruneBy(seeds.owner, inbox24, [mailHash]), 'ERR_BAD_SIGNATURE')
await badPrune('no entries', pruneBy(seeds.owner, inbox, []), 'ERR_MALFORMED')
await badPrune('an entry twice', pruneBy(seeds.owner, inbox, [mailHash, mailHash]), 'ERR_MALFORMED')
await badPrune('1,001 entries', pruneBy(seeds.owner, inbox, Array.from({ length: 1001 }, (_, i) => referenceCid(dagCbor.encode(i)).toString(base58btc))), 'ERR_MALFORMED')
await badPrune('an envelope CID among the entries', pruneBy(seeds.owner, inbox, [env]), 'ERR_MALFORMED')
await badPrune('a signature of 63 bytes', cborHex({ ...dagCbor.decode(Buffer.from(prune.payload as string, 'hex')) as object, sig: fill(63, 0) }), 'ERR_MALFORMED')
await badPrune('non-canonical: v as a two-byte integer', patch(prune.payload as string, textKey('v') + '01', textKey('v') + '1801'), 'ERR_MALFORMED')
await badPrune('v 2', cborHex({ ...dagCbor.decode(Buffer.from(prune.payload as string, 'hex')) as object, v: 2 }), 'ERR_MALFORMED')
const entryValue = dagCbor.decode(Buffer.from(mailEntry.block as string, 'hex')) as Record<string, unknown>
const resign = (e: Record<string, unknown>, seed = seeds.writer): string => {
  const signed = { id: e.id, payload: e.payload, next: e.next, refs: e.refs, clock: e.clock, v: e.v }
  return cborHex({ ...e, sig: hex(ed25519.sign(dagCbor.encode(signed), seed)) })
}
const badEntry = async (name: string, block: string, code = 'ERR_MALFORMED'): Promise<void> => { await add(`refused entry: ${name}`, 'check-entry', { block, owner, bits: BITS }, code) }
await badEntry('identity is not key', resign({ ...entryValue, identity: 'zdpuAnotthekey' }))
await badEntry('clock time 0', resign({ ...entryValue, clock: { ...(entryValue.clock as object), time: 0 } }))
await badEntry('clock time past 2^40', resign({ ...entryValue, clock: { ...(entryValue.clock as object), time: 2 ** 40 + 1 } }))
await badEntry('id of another inbox', resign({ ...entryValue, id: inbox24 }))
await badEntry('v 1', resign({ ...entryValue, v: 1 }))
await badEntry('an unknown op', resign({ ...entryValue, payload: { op: 'PUT', v: 1 } }))
await badEntry('uppercase hex signature', cborHex({ ...entryValue, sig: (entryValue.sig as string).toUpperCase() }))
await badEntry('a signature by another key', resign(entryValue, seeds.stranger), 'ERR_BAD_SIGNATURE')
await badEntry('a parent twice', resign({ ...entryValue, next: [mailHash, mailHash] }))
await badEntry('a parent in both next and refs', resign({ ...entryValue, next: [mailHash], refs: [mailHash] }))
await badEntry('non-canonical: v as a two-byte integer', patch(mailEntry.block as string, textKey('v') + '02', textKey('v') + '1802'))
await badEntry('65 parents', resign({ ...entryValue, next: Array.from({ length: 65 }, (_, i) => referenceCid(dagCbor.encode(i)).toString(base58btc)) }))

// ── §11 grant, card, pass ──────────────────────────────────────────────────────────────────────
const sign = async (name: string, kind: RecordKind, fields: Record<string, unknown>): Promise<Record<string, unknown>> => await add(name, 'sign-record', { kind, seed: hex(seeds.owner), fields: toJson(fields) as Record<string, unknown> })
const grant = await sign('host grant, for 30 days', 'grant', { host, issued: T0, expires: T0 + 30 * DAY })
const card = await sign('address card listing one host, with an expiry', 'card', { bits: BITS, hosts: [{ peer: host, addrs: ['/ip4/127.0.0.1/tcp/4001'] }], ts: T0, expires: T0 + 30 * DAY })
const pass = await sign('contact\'s pass, for a year', 'pass', { id: fill(16, 0xa0), issued: T0, expires: T0 + 365 * DAY })
await sign('host grant without expiry', 'grant', { host: cohost, issued: T0 })
await add('grant accepted by its host', 'verify-record', { kind: 'grant', text: grant.text, host, now: T0 + DAY })
await add('grant accepted from its bytes (as a sync hello carries it)', 'verify-record', { kind: 'grant', bytes: grant.bytes, host, now: T0 + DAY })
await add('card accepted', 'verify-record', { kind: 'card', text: card.text, owner })
await add('pass accepted', 'verify-record', { kind: 'pass', text: pass.text, owner, now: T0 + DAY })
const forged = (kind: RecordKind, fields: Record<string, unknown>): Record<string, unknown> => {
  const tag = `ipms/${kind}/v1`
  const unsigned = { ...fields, v: 1, owner }
  return { ...unsigned, sig: ed25519.sign(referenceTagged(tag, dagCbor.encode(unsigned)), seeds.stranger) }
}
const prefixOf = { grant: 'ipmsgrant', card: 'ipmscard', pass: 'ipmspass' }
/** A record signed by the owner with exactly these fields (v, owner, sig added): refused for its fields, not its signature. */
const signed = (kind: RecordKind, value: Record<string, unknown>): string => {
  const { v: _v, owner: _o, sig: _s, ...fields } = value
  return referenceSignRecord(kind, seeds.owner, fields).text
}
const text = (kind: RecordKind, value: unknown): string => prefixOf[kind] + base58btc.encode(dagCbor.encode(value))
const badRecord = async (name: string, kind: RecordKind, input: Record<string, unknown>, code = 'ERR_INVALID_RECORD'): Promise<void> => { await add(`refused ${kind}: ${name}`, 'verify-record', { kind, ...input }, code) }
const grantValue = dagCbor.decode(Buffer.from(grant.bytes as string, 'hex')) as Record<string, unknown>
const cardValue = dagCbor.decode(Buffer.from(card.bytes as string, 'hex')) as Record<string, unknown>
const passValue = dagCbor.decode(Buffer.from(pass.bytes as string, 'hex')) as Record<string, unknown>
await badRecord('expired by the host\'s clock', 'grant', { text: grant.text, host, now: T0 + 30 * DAY }, 'ERR_GRANT_EXPIRED')
await badRecord('for another host', 'grant', { text: grant.text, host: cohost, now: T0 })
await badRecord('forged (signed by another key)', 'grant', { text: text('grant', forged('grant', { host, issued: T0 })), host, now: T0 })
await badRecord('one byte of the signature changed', 'grant', { bytes: patch(grant.bytes as string, hex(grantValue.sig as Uint8Array), hex(grantValue.sig as Uint8Array).replace(/^../, 'ff')), host, now: T0 })
await badRecord('version 2', 'grant', { text: text('grant', { ...grantValue, v: 2 }), host, now: T0 }, 'ERR_UNSUPPORTED_VERSION')
await badRecord('the card prefix', 'grant', { text: 'ipmscard' + (grant.text as string).slice('ipmsgrant'.length), host, now: T0 })
await badRecord('not base58btc', 'grant', { text: (grant.text as string).replace(/.$/, '0'), host, now: T0 })
await badRecord('non-canonical: an integer in a long form', 'grant', { bytes: patch(grant.bytes as string, textKey('v') + '01', textKey('v') + '1801'), host, now: T0 })
await badRecord('an unknown field', 'grant', { text: signed('grant', { host, issued: T0, note: 'x' }), host, now: T0 })
await badRecord('a host that is not a peer-id (read without a host to match)', 'grant', { text: signed('grant', { host: 'my-server', issued: T0 }), now: T0 })
await badRecord('a host written as a CID (read without a host to match)', 'grant', { text: signed('grant', { host: hostAsCid, issued: T0 }), now: T0 })
await badRecord('expires before issued', 'grant', { text: signed('grant', { ...grantValue, expires: T0 - 1 }), host, now: T0 })
await badRecord('expired', 'pass', { text: pass.text, owner, now: T0 + 365 * DAY }, 'ERR_PASS_EXPIRED')
await badRecord('another owner\'s', 'pass', { text: pass.text, owner: stranger, now: T0 })
await badRecord('an id of 15 bytes', 'pass', { text: signed('pass', { ...passValue, id: fill(15, 0) }), owner, now: T0 })
await badRecord('bits 41', 'card', { text: signed('card', { ...cardValue, bits: 41 }), owner })
await badRecord('17 hosts', 'card', { text: signed('card', { ...cardValue, hosts: Array.from({ length: 17 }, () => ({ peer: host, addrs: [] })) }), owner })
await badRecord('over 8 KiB', 'card', { text: signed('card', { ...cardValue, hosts: Array.from({ length: 16 }, () => ({ peer: host, addrs: Array.from({ length: 8 }, (_, i) => `/dns4/${'h'.repeat(40)}${i}.example/tcp/4001`) })) }), owner })
await sign('address card listing a host behind a relay (its address ends in /p2p-circuit)', 'card', { bits: BITS, hosts: [{ peer: host, addrs: [`/ip4/127.0.0.1/tcp/4002/p2p/${cohost}/p2p-circuit`] }], ts: T0 })
await add('card with a relay address accepted', 'verify-record', { kind: 'card', text: vectors[vectors.length - 1]!.output!.text, owner })
await badRecord('a host address ending in /p2p', 'card', { text: signed('card', { ...cardValue, hosts: [{ peer: host, addrs: [`/ip4/127.0.0.1/tcp/4001/p2p/${cohost}`] }] }), owner })
await badRecord('a host written as a CID', 'card', { text: signed('card', { ...cardValue, hosts: [{ peer: hostAsCid, addrs: [] }] }), owner })

// ── §12 receipt ────────────────────────────────────────────────────────────────────────────────
const receiptFields = { inbox, entry: mailHash, env, time: T0 + 1500 }
const receipt = await add('receipt signed by the host', 'sign-receipt', { seed: hex(seeds.host), ...receiptFields })
await add('receipt accepted by the sender', 'verify-receipt', { receipt: receipt.receipt, inbox, env, host })
const receiptValue = dagCbor.decode(Buffer.from(receipt.receipt as string, 'hex')) as Record<string, unknown>
const badReceipt = async (name: string, value: string, expected: Record<string, unknown> = { inbox, env, host }): Promise<void> => { await add(`refused receipt: ${name}`, 'verify-receipt', { receipt: value, ...expected }, 'ERR_BAD_RECEIPT') }
await badReceipt('for another envelope', receipt.receipt as string, { inbox, env: referenceCid(dagCbor.encode('other')).toString(), host })
await badReceipt('from another host than the one asked', receipt.receipt as string, { inbox, env, host: cohost })
/** A receipt signed by the host over exactly these fields: refused for its fields, not its signature. */
const hostSigned = (fields: Record<string, unknown>): string => {
  const { sig: _s, ...unsigned } = fields
  return cborHex({ ...unsigned, sig: ed25519.sign(referenceTagged('ipms/receipt/v1', dagCbor.encode(unsigned)), seeds.host) })
}
await badReceipt('an extra field (signed with the others)', hostSigned({ ...receiptValue, note: 'x' }))
await badReceipt('forged (signed by another key)', cborHex({ ...receiptValue, sig: referenceSignReceipt(seeds.stranger, receiptFields).receipt.sig }))
await badReceipt('non-canonical: v as a two-byte integer', patch(receipt.receipt as string, textKey('v') + '01', textKey('v') + '1801'))
await badReceipt('a negative time', hostSigned({ ...receiptValue, time: -1 }))
await badReceipt('version 2', hostSigned({ ...receiptValue, v: 2 }))

// ── §14 DHT hosts record ───────────────────────────────────────────────────────────────────────
const cardBytes = (fields: Record<string, unknown>, seed = seeds.owner): string => hex(referenceSignRecord('card', seed, fields).bytes)
const key = '/ipms/' + owner
const hosts = [{ peer: host, addrs: ['/ip4/127.0.0.1/tcp/4001'] }]
const older = cardBytes({ bits: BITS, hosts, ts: T0, expires: T0 + 30 * DAY })
const newer = cardBytes({ bits: BITS, hosts: [], ts: T0 + DAY, expires: T0 + 31 * DAY })
await add('hosts records: a newer card, then a replay of an older one, then expired, forged, unbounded and misfiled ones', 'hosts-record', {
  steps: [
    { key, value: older, now: T0 + 1000 },
    { key, value: newer, now: T0 + DAY + 1000 },
    { key, value: older, now: T0 + DAY + 2000 },
    { key, value: newer, now: T0 + 31 * DAY },
    { key, value: hex(dagCbor.encode(forged('card', { bits: BITS, hosts, ts: T0 + 2 * DAY, expires: T0 + 32 * DAY }))), now: T0 + 2 * DAY },
    { key, value: cardBytes({ bits: BITS, hosts, ts: T0 + 3 * DAY }), now: T0 + 3 * DAY },
    { key, value: cardBytes({ bits: BITS, hosts, ts: T0 + 3 * DAY, expires: T0 + 94 * DAY }), now: T0 + 3 * DAY },
    { key: '/ipms/' + stranger, value: newer, now: T0 + DAY + 1000 },
    { key, value: newer, now: T0 + DAY + 3000 }
  ]
})

// ── §12 one /ipms/deliver exchange, and the refusals ───────────────────────────────────────────
const frameOf = async (name: string, message: Record<string, unknown>): Promise<string> => (await add(name, 'encode-frame', { message: toJson(message) as Record<string, unknown> })).frame as string
const requestFrame = await frameOf('deliver request (sender → host), with a pass', { v: 1, t: 'deliver', inbox, mail: mailPayload, envelope, pass: new Uint8Array(Buffer.from(pass.bytes as string, 'hex')) })
await add('deliver request read by the host', 'read-deliver-request', { frame: requestFrame })
const plainRequest = await frameOf('deliver request without a pass', { v: 1, t: 'deliver', inbox, mail: mailPayload, envelope })
await add('deliver request without a pass read by the host', 'read-deliver-request', { frame: plainRequest })
const receiptFrame = await frameOf('receipt answer (host → sender)', { v: 1, t: 'receipt', receipt: receiptValue })
await add('receipt answer read by the sender', 'read-deliver-answer', { frame: receiptFrame, inbox, env, host })
for (const code of ['ERR_RATE_LIMITED', 'ERR_TOO_LARGE', 'ERR_MALFORMED', 'ERR_NOT_HOSTED', 'ERR_BAD_ENVELOPE', 'ERR_OVER_QUOTA', 'ERR_BAD_PASS', 'ERR_PASS_EXPIRED', 'ERR_STORAGE_FULL']) {
  const frame = await frameOf(`refusal ${code} (host → sender)`, { v: 1, t: 'refused', code, reason: 'a reason for people' })
  await add(`refusal ${code} read by the sender`, 'read-deliver-answer', { frame, inbox, env, host })
}
const stale = await frameOf('refusal ERR_STALE with the host\'s clock', { v: 1, t: 'refused', code: 'ERR_STALE', reason: 'stamp it again', time: T0 + DAY })
await add('refusal ERR_STALE read by the sender, with the host\'s time', 'read-deliver-answer', { frame: stale, inbox, env, host })
const lapsed = await frameOf('refusal ERR_GRANT_EXPIRED with when the grant expired', { v: 1, t: 'refused', code: 'ERR_GRANT_EXPIRED', reason: 'ask the owner for a new grant', expired: T0 + 30 * DAY })
await add('refusal ERR_GRANT_EXPIRED read by the sender, with when the grant expired', 'read-deliver-answer', { frame: lapsed, inbox, env, host })
await add('a time on a refusal of another code is not read', 'read-deliver-answer', { frame: await frameOf('refusal ERR_OVER_QUOTA carrying a time and an expiry', { v: 1, t: 'refused', code: 'ERR_OVER_QUOTA', reason: 'x', time: T0, expired: T0 }), inbox, env, host })
await add('a refusal with a code outside §12\'s list is read as ERR_REFUSED', 'read-deliver-answer', { frame: await frameOf('refusal with a foreign code', { v: 1, t: 'refused', code: 'ERR_IDENTITY_NOT_FOUND', reason: 'x' }), inbox, env, host })
await add('a refusal whose code is not text is read as ERR_REFUSED', 'read-deliver-answer', { frame: await frameOf('refusal with a numeric code', { v: 1, t: 'refused', code: 7, reason: 'x' }), inbox, env, host })
await add('an answer that is not canonical dag-cbor is no receipt', 'read-deliver-answer', { frame: hex(referenceFrame(Buffer.from(patch(dagCbor.encode({ v: 1, t: 'receipt', receipt: receiptValue }), textKey('t') + textKey('receipt') + textKey('v') + '01', textKey('t') + textKey('receipt') + textKey('v') + '1801'), 'hex'))), inbox, env, host }, 'ERR_BAD_RECEIPT')
await add('an answer that is not CBOR at all is no receipt', 'read-deliver-answer', { frame: hex(referenceFrame(utf8Text('OK, stored'))), inbox, env, host }, 'ERR_BAD_RECEIPT')
await add('an answer that is neither receipt nor refusal', 'read-deliver-answer', { frame: await frameOf('answer of an unknown type', { v: 1, t: 'thanks' }), inbox, env, host }, 'ERR_BAD_RECEIPT')
const badRequest = async (name: string, frame: string, code = 'ERR_MALFORMED'): Promise<void> => { await add(`refused deliver request: ${name}`, 'read-deliver-request', { frame }, code) }
const maxDeliver = 4 * 1024 * 1024 + 16 * 1024
await badRequest('announces one byte over the cap (refused from the prefix alone)', hex(referenceFrame(new Uint8Array(maxDeliver + 1)).subarray(0, 4)), 'ERR_TOO_LARGE')
await badRequest('a five-byte length prefix', '8080808000')
await badRequest('v 2', hex(referenceFrame(dagCbor.encode({ v: 2, t: 'deliver', inbox, mail: mailPayload, envelope }))))
await badRequest('an extra field', hex(referenceFrame(dagCbor.encode({ v: 1, t: 'deliver', inbox, mail: mailPayload, envelope, note: 'x' }))))
await badRequest('more than 32 items (a list where the pass goes)', hex(referenceFrame(dagCbor.encode({ v: 1, t: 'deliver', inbox, mail: mailPayload, envelope, pass: Array.from({ length: 40 }, (_, i) => i) }))))
await badRequest('non-canonical: v as a two-byte integer', hex(referenceFrame(Buffer.from(patch(dagCbor.encode({ v: 1, t: 'deliver', inbox, mail: mailPayload, envelope }), textKey('t') + textKey('deliver') + textKey('v') + '01', textKey('t') + textKey('deliver') + textKey('v') + '1801'), 'hex'))))
await badRequest('a MAIL payload with size 0', hex(referenceFrame(dagCbor.encode({ v: 1, t: 'deliver', inbox, mail: { ...mailPayload, size: 0 }, envelope }))))
await badRequest('envelope as text', hex(referenceFrame(dagCbor.encode({ v: 1, t: 'deliver', inbox, mail: mailPayload, envelope: 'abc' }))))

// ── §10 one /ipms/sync exchange (co-host → host), and the refusals ─────────────────────────────
const cohostGrant = referenceSignRecord('grant', seeds.owner, { host: cohost, issued: T0 }).bytes
const sync = async (name: string, message: Record<string, unknown>, first = false): Promise<string> => {
  const frame = await frameOf(`sync ${name}`, message)
  await add(`sync ${name} read`, 'read-sync-frame', { frame, first })
  return frame
}
await sync('hello (co-host → host, with its grant)', { v: 1, t: 'hello', inbox, heads: [], have: [], want: [], grant: cohostGrant }, true)
await sync('refused (to a peer without a grant)', { v: 1, t: 'refused', code: 'ERR_SYNC_REFUSED', reason: 'this node does not serve that inbox to you' })
await sync('blocks (host → co-host: the MAIL entry and its envelope)', { v: 1, t: 'blocks', blocks: [{ c: referenceCid(Buffer.from(mailEntry.block as string, 'hex')).bytes, b: Buffer.from(mailEntry.block as string, 'hex') }, { c: referenceCid(envelope).bytes, b: envelope }] })
await sync('ack', { v: 1, t: 'ack' })
await sync('end (host → co-host: its heads)', { v: 1, t: 'end', heads: [mailHash], have: [], want: [] })
await sync('done', { v: 1, t: 'done' })
const badSync = async (name: string, frame: string, first = false): Promise<void> => { await add(`refused sync frame: ${name}`, 'read-sync-frame', { frame, first }, 'ERR_SYNC') }
await badSync('a block whose bytes do not hash to its CID', hex(referenceFrame(dagCbor.encode({ v: 1, t: 'blocks', blocks: [{ c: referenceCid(envelope).bytes, b: fill(10, 0) }] }))))
await badSync('a hello over 1 MiB announced', hex(referenceFrame(new Uint8Array(1024 * 1024 + 1)).subarray(0, 3)), true)
// From the granted co-host, so that only the frame's fault ends the session.
await badSync('a hello with heads written as base32 CIDs', hex(referenceFrame(dagCbor.encode({ v: 1, t: 'hello', inbox, heads: [env], have: [], want: [], grant: cohostGrant }))), true)
await badSync('a hello with a want list of entry hashes', hex(referenceFrame(dagCbor.encode({ v: 1, t: 'hello', inbox, heads: [], have: [], want: [mailHash], grant: cohostGrant }))), true)
await badSync('a hello of version 2', hex(referenceFrame(dagCbor.encode({ v: 2, t: 'hello', inbox, heads: [], have: [], want: [], grant: cohostGrant }))), true)
await badSync('a hello with a five-byte length prefix', '8080808000', true)
await badSync('non-canonical: an indefinite-length map', hex(referenceFrame(Buffer.from('bf' + cborHex({ v: 1, t: 'ack' }).slice(2) + 'ff', 'hex'))))
await badSync('nested four deep', hex(referenceFrame(dagCbor.encode({ v: 1, t: 'blocks', blocks: [{ c: [[1]] }] }))))

// A path argument writes there instead (the test that checks the committed file is what this makes).
writeFileSync(process.argv[2] ?? new URL('./protocol-v1.json', import.meta.url), JSON.stringify({
  description: 'IPMS v1 known-answer and refusal vectors (docs/PROTOCOL.md §7): one operation per vector; byte strings are lowercase hex, and {"$hex": …} inside structured values. Made by test/vectors/generate-protocol.ts with the reference implementation.',
  keys: Object.fromEntries(Object.entries(seeds).map(([role, seed]) => [role, { seed: hex(seed), peerId: peer(seed) }])),
  vectors
}, null, 1) + '\n')
console.log(`wrote ${process.argv[2] ?? 'test/vectors/protocol-v1.json'}: ${vectors.length} vectors (${vectors.filter(v => v.error !== undefined).length} refusals)`)
