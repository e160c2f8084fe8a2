/**
 * Writes test/vectors/envelope-v1.json from fixed inputs with the reference implementation
 * (test/helpers/reference.ts), not with src/. Run once: `node test/vectors/generate-envelope.ts`.
 * The committed file is what other implementations check themselves against.
 */
import { writeFileSync } from 'node:fs'
import * as dagCbor from '@ipld/dag-cbor'
import { ed25519 } from '@noble/curves/ed25519.js'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { referenceSeal, referenceSignMail } from '../helpers/reference.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const fill = (n: number, start: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff)
const peerId = (seed: Uint8Array): string => peerIdFromPublicKey(publicKeyFromRaw(ed25519.getPublicKey(seed))).toString()

const senderSeed = fill(32, 0x01)
const recipientSeed = fill(32, 0x41)
const ephemeralSecret = fill(32, 0x81)
const nonce = fill(24, 0xc1)
const inbox = '/orbitdb/zdpuAxhSowUQaEAyN3FmRF8JuKBNSGNb1x6hVpFUvVMXUNGtV'

function vector (name: string, fields: Record<string, unknown>): Record<string, unknown> {
  const unsigned: Record<string, unknown> = { v: 1, from: peerId(senderSeed), to: peerId(recipientSeed), ...fields }
  const mail = referenceSignMail(unsigned, senderSeed)
  const plaintext = dagCbor.encode(mail)
  const envelope = referenceSeal(plaintext, ed25519.getPublicKey(recipientSeed), inbox, ephemeralSecret, nonce)
  const cid = CID.create(1, dagCbor.code, sha256.digest(envelope) as Awaited<ReturnType<typeof sha256.digest>>)
  return {
    name,
    senderSeed: hex(senderSeed),
    recipientSeed: hex(recipientSeed),
    ephemeralSecret: hex(ephemeralSecret),
    nonce: hex(nonce),
    inbox,
    mail: JSON.parse(JSON.stringify(unsigned, (_k, v) => v instanceof Uint8Array ? { hex: hex(v) } : v)),
    expected: {
      from: unsigned.from,
      to: unsigned.to,
      sig: hex(mail.sig as Uint8Array),
      plaintext: hex(plaintext),
      envelope: hex(envelope),
      cid: cid.toString()
    }
  }
}

const vectors = {
  description: 'IPMS envelope v1 test vectors (docs/PROTOCOL.md §7). Byte strings are hex; mail.attachments[].data is {hex}.',
  vectors: [
    vector('short text mail', { date: 1767225600000, id: 'vector-1', subject: 'Hello Bob', body: 'Meet me at the usual place.\n', attachments: [] }),
    vector('reply with attachment', {
      date: 1767225660000,
      id: 'vector-2',
      subject: 'Re: Hello Bob',
      body: 'See the attached file. — Ça marche ✓\n',
      attachments: [{ name: 'notes.txt', type: 'text/plain', data: fill(300, 0x20) }],
      inReplyTo: 'vector-1'
    }),
    vector('two-kilobyte body (second padding bucket)', { date: 1767225720000, id: 'vector-3', subject: '', body: 'x'.repeat(2000), attachments: [] })
  ]
}
writeFileSync(new URL('./envelope-v1.json', import.meta.url), JSON.stringify(vectors, null, 2) + '\n')
console.log('wrote test/vectors/envelope-v1.json')
