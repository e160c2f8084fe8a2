/**
 * Envelope and mail throughput against raw node:crypto ChaCha20-Poly1305 on the same bytes, in the
 * same run (issue #2): seal and open of 1 KiB and 1 MiB mail.
 *
 * - "envelope" rows time the envelope layer alone (X25519 + HKDF + padding + XChaCha20-Poly1305 +
 *   dag-cbor), which is what the ≥ 0.5 × native target is about;
 * - "mail" rows time the whole sealMail / openMail (also the Ed25519 signature, the mail encoding,
 *   the schema check and the CID): the cost a user pays.
 */
import crypto from 'node:crypto'
import { once } from 'node:events'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { pathToFileURL } from 'node:url'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { decodeEnvelope, openEnvelope, sealEnvelope } from '../src/crypto/envelope.ts'
import { createIdentity } from '../src/identity/identity.ts'
import { openMail, sealMail } from '../src/mail/seal.ts'
import { printRows, formatNumber, ratePerSecond, type Row } from './row.ts'

const MiB = 1024 * 1024
const INBOX = '/orbitdb/zdpuAxhSowUQaEAyN3FmRF8JuKBNSGNb1x6hVpFUvVMXUNGtV'
const mbps = (callsPerSecond: number, bytes: number): number => callsPerSecond * bytes / 1e6

function nativeSeal (key: Buffer, nonce: Buffer, data: Uint8Array): Uint8Array {
  const cipher = crypto.createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 })
  const out = cipher.update(data)
  cipher.final()
  return Buffer.concat([out, cipher.getAuthTag()])
}

function nativeOpen (key: Buffer, nonce: Buffer, sealed: Uint8Array): Uint8Array {
  const decipher = crypto.createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 })
  decipher.setAuthTag(sealed.subarray(sealed.byteLength - 16))
  const out = decipher.update(sealed.subarray(0, sealed.byteLength - 16))
  decipher.final()
  return out
}

/**
 * A row comparing two rates of 1 MiB operations, in MB/s; met when ipms ÷ baseline reaches `min`
 * (a context row, without a target, when there is none).
 */
function megabyteRow (measure: string, ipmsRate: number, baselineRate: number, baseline: string, target: string, min?: number): Row {
  return {
    measure,
    ipms: `${formatNumber(mbps(ipmsRate, MiB))} MB/s`,
    baseline: `${formatNumber(mbps(baselineRate, MiB))} MB/s (${baseline})`,
    ratio: `${(ipmsRate / baselineRate).toFixed(2)} ×`,
    target,
    met: min === undefined ? null : ipmsRate / baselineRate >= min
  }
}

export async function benchEnvelope (): Promise<Row[]> {
  const [alice, bob] = await Promise.all([createIdentity(), createIdentity()])
  const key = crypto.randomBytes(32)
  const nonce = crypto.randomBytes(12)
  const rows: Row[] = []

  // 1 MiB: envelope layer vs native AEAD on the same plaintext.
  const big = crypto.randomBytes(MiB)
  const nativeSealRate = await ratePerSecond(() => nativeSeal(key, nonce, big), 3000, 5)
  const envelopeSealRate = await ratePerSecond(() => sealEnvelope(big, bob.publicKey, INBOX), 3000, 5)
  rows.push(megabyteRow('envelope seal, 1 MiB plaintext (X25519 + HKDF + padding + XChaCha20-Poly1305 + dag-cbor)', envelopeSealRate, nativeSealRate, 'node:crypto chacha20-poly1305, same bytes', '≥ 0.5 ×', 0.5))
  const sealedBig = nativeSeal(key, nonce, big)
  const nativeOpenRate = await ratePerSecond(() => nativeOpen(key, nonce, sealedBig), 3000, 5)
  const envelopeBig = sealEnvelope(big, bob.publicKey, INBOX)
  const envelopeOpenRate = await ratePerSecond(() => openEnvelope(decodeEnvelope(envelopeBig), bob.seed, bob.publicKey, INBOX), 3000, 5)
  rows.push(megabyteRow('envelope open, 1 MiB plaintext (decode + X25519 + HKDF + XChaCha20-Poly1305 + unpad)', envelopeOpenRate, nativeOpenRate, 'node:crypto chacha20-poly1305, same bytes', '≥ 0.5 ×', 0.5))
  const xnonce = crypto.randomBytes(24)
  const nobleRate = await ratePerSecond(() => xchacha20poly1305(key, xnonce).encrypt(big), 3000, 2)
  rows.push(megabyteRow('context: pure-JS XChaCha20-Poly1305 (@noble/ciphers, the reference path), 1 MiB', nobleRate, nativeSealRate, 'node:crypto chacha20-poly1305', '— (why the native path exists)'))

  // 1 MiB: the whole mail.
  const attachment = { name: 'data.bin', type: 'application/octet-stream', data: big }
  const mailSealRate = await ratePerSecond(() => sealMail({ attachments: [attachment] }, { from: alice, to: bob.peerId, inbox: INBOX }), 3000, 5)
  const bigMail = await sealMail({ attachments: [attachment] }, { from: alice, to: bob.peerId, inbox: INBOX })
  const mailOpenRate = await ratePerSecond(() => openMail(bigMail.envelope, { identity: bob, inbox: INBOX }), 3000, 5)
  rows.push(megabyteRow('mail seal, 1 MiB attachment (+ Ed25519 signature, encoding, schema check, CID)', mailSealRate, nativeSealRate, 'node:crypto chacha20-poly1305', '— (full cost, for context)'))
  rows.push(megabyteRow('mail open, 1 MiB attachment (+ signature check, decoding, schema check)', mailOpenRate, nativeOpenRate, 'node:crypto chacha20-poly1305', '— (full cost, for context)'))

  // 1 KiB mail: seal + open pairs per second on one thread, vs the bare AEAD on the same bytes.
  const body = 'x'.repeat(1024)
  const smallPlain = crypto.randomBytes(1024)
  const nativePairRate = await ratePerSecond(() => nativeOpen(key, nonce, nativeSeal(key, nonce, smallPlain)), 3000, 500)
  const pairRate = await ratePerSecond(async () => {
    const sealed = await sealMail({ subject: 'bench', body }, { from: alice, to: bob.peerId, inbox: INBOX })
    openMail(sealed.envelope, { identity: bob, inbox: INBOX })
  }, 5000, 500)
  const floor = publicKeyFloor()
  rows.push({
    measure: 'context: one-thread ceiling set by the public-key operations alone (X25519 keygen + 2 X25519 + Ed25519 sign + verify, node:crypto)',
    ipms: `${formatNumber(pairRate)} pairs/s (the row below)`,
    baseline: `${formatNumber(floor.pairsPerSecond)} pairs/s (${floor.detail})`,
    ratio: `${(pairRate / floor.pairsPerSecond).toFixed(2)} ×`,
    target: '— (no one-thread implementation can pass this ceiling)',
    met: null
  })
  rows.push({
    measure: 'mail seal + open pairs, 1 KiB body, one thread (X25519 ×2, Ed25519 sign + verify, AEAD ×2)',
    ipms: `${formatNumber(pairRate)} pairs/s`,
    baseline: `${formatNumber(nativePairRate)} pairs/s (node:crypto chacha20-poly1305 seal + open, same bytes, no public-key crypto)`,
    ratio: `${(pairRate / nativePairRate).toFixed(2)} ×`,
    target: '≥ 5,000 pairs/s',
    met: pairRate >= 5000
  })
  const cores = availableParallelism()
  const parallelRate = await parallelPairs(cores, 5000)
  rows.push({
    measure: `mail seal + open pairs, 1 KiB body, ${cores} threads (one per core, worker_threads)`,
    ipms: `${formatNumber(parallelRate)} pairs/s`,
    baseline: `${formatNumber(pairRate)} pairs/s (the same code on one thread)`,
    ratio: `${(parallelRate / pairRate).toFixed(2)} ×`,
    target: '≥ 5,000 pairs/s',
    met: parallelRate >= 5000
  })
  return rows
}

/** What the five public-key operations of one seal + open cost on their own, measured now. */
function publicKeyFloor (): { pairsPerSecond: number, detail: string } {
  const time = (fn: () => unknown, n = 3000): number => {
    for (let i = 0; i < 300; i++) fn()
    const start = performance.now()
    for (let i = 0; i < n; i++) fn()
    return (performance.now() - start) * 1000 / n
  }
  const ed = crypto.generateKeyPairSync('ed25519')
  const x = crypto.generateKeyPairSync('x25519')
  const y = crypto.generateKeyPairSync('x25519')
  const message = crypto.randomBytes(50)
  const signature = crypto.sign(null, message, ed.privateKey)
  const keygen = time(() => crypto.generateKeyPairSync('x25519'))
  const dh = time(() => crypto.diffieHellman({ privateKey: x.privateKey, publicKey: y.publicKey }))
  const sign = time(() => crypto.sign(null, message, ed.privateKey))
  const verify = time(() => crypto.verify(null, message, ed.publicKey, signature))
  const total = keygen + 2 * dh + sign + verify
  return {
    pairsPerSecond: 1e6 / total,
    detail: `keygen ${keygen.toFixed(0)} + X25519 2 × ${dh.toFixed(0)} + sign ${sign.toFixed(0)} + verify ${verify.toFixed(0)} = ${total.toFixed(0)} µs`
  }
}

/** Seal + open pairs per second with `threads` worker threads running at once for `ms`. */
async function parallelPairs (threads: number, ms: number): Promise<number> {
  const workers = Array.from({ length: threads }, () => new Worker(new URL('./pair-worker.ts', import.meta.url), { workerData: { ms, inbox: INBOX } }))
  try {
    await Promise.all(workers.map(w => once(w, 'message')))
    const results = workers.map(w => once(w, 'message') as Promise<[{ pairs: number, seconds: number }]>)
    for (const w of workers) w.postMessage('go')
    const done = await Promise.all(results)
    return done.reduce((sum, [r]) => sum + r.pairs / r.seconds, 0)
  } finally {
    await Promise.all(workers.map(w => w.terminate()))
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await printRows(benchEnvelope)
