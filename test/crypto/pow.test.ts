/**
 * Tests of src/crypto/pow: challenge layout (with a known-answer vector built independently from
 * the spec), the fast SHA-256 path against node:crypto, solve/verify at several difficulties on
 * both the in-thread and the worker-thread paths, abort, progress, and the pool's lifecycle.
 */
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { CID } from 'multiformats/cid'
import { AbortError, InvalidArgumentError } from '../../src/errors.ts'
import { MAX_ENVELOPE_BYTES, MAX_POW_BITS, MAX_STAMP_BITS, POW_NONCE_BYTES } from '../../src/constants.ts'
import {
  closePowPool, leadingZeroBits, powChallenge, requiredPowBits, solvePow, solvePowSync, verifyPow, type PowProgress
} from '../../src/crypto/pow/index.ts'
import { CONTROL_SLOTS, firstHashWord, powMidstate, scanNonces, topBitsMask } from '../../src/crypto/pow/sha256-block.ts'

after(async () => { await closePowPool() })

const CID_V1 = CID.parse('bafyreia25rcgd5ngjjvuvoitznrx5qtrfrbrerllcrgx2eymbm4gymws7y')
const CID_V0 = CID.parse('QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG')
const INBOX = '/orbitdb/zdpuAmrcSRUhkQcnRQ6p4bphs7DJWGBkqczSGFYynX6moTcDL'
const TS = 1767225600000 // 2026-01-01T00:00:00Z
const BASE = { bits: 20, ts: TS, inbox: INBOX, envelopeCid: CID_V1 }

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const randomChallenge = (): Uint8Array => new Uint8Array(randomBytes(32))
/** Leading zero bits of SHA-256(challenge ‖ nonce), computed apart from the module. */
const referenceZeroBits = (challenge: Uint8Array, nonce: Uint8Array): number => {
  const digest = createHash('sha256').update(challenge).update(nonce).digest()
  let bits = 0
  for (const byte of digest) {
    if (byte === 0) { bits += 8; continue }
    bits += byte.toString(2).padStart(8, '0').indexOf('1')
    break
  }
  return bits
}

describe('requiredPowBits (PROTOCOL §5.2)', () => {
  it('adds ⌊log2 size⌋ − 16 bits from 128 KiB on: the work doubles with the envelope', () => {
    const KiB = 1024
    const table: Array<[number, number]> = [
      [1, 24], [1120, 24], [2 * KiB, 24], [64 * KiB, 24], [64 * KiB + 96, 24], [128 * KiB - 1, 24], [128 * KiB, 25],
      [1024 * KiB, 28], [MAX_ENVELOPE_BYTES - 1, 29], [MAX_ENVELOPE_BYTES, 30]
    ]
    for (const [size, bits] of table) assert.equal(requiredPowBits(24, size), bits, `size ${size}`)
    assert.equal(requiredPowBits(0, MAX_ENVELOPE_BYTES), 6)
    assert.equal(requiredPowBits(MAX_POW_BITS, MAX_ENVELOPE_BYTES), MAX_STAMP_BITS)
  })

  it('refuses an inbox difficulty or a size out of range with InvalidArgumentError', () => {
    for (const [bits, size] of [[-1, 1000], [MAX_POW_BITS + 1, 1000], [24, 0], [24, MAX_ENVELOPE_BYTES + 1], [24, 1.5], [24.5, 1000], [24, 2 ** 60]]) {
      assert.throws(() => requiredPowBits(bits!, size!), InvalidArgumentError, `${bits} bits, ${size} bytes`)
    }
  })

  it('stamps above MAX_POW_BITS up to MAX_STAMP_BITS are valid arguments of the challenge, verify and the solver', async () => {
    const challenge = powChallenge({ ...BASE, bits: MAX_STAMP_BITS })
    assert.equal(verifyPow(challenge, MAX_STAMP_BITS, new Uint8Array(8)), false) // checked, not refused as an argument
    const controller = new AbortController()
    const solving = solvePow(challenge, MAX_STAMP_BITS, { signal: controller.signal })
    controller.abort()
    await assert.rejects(solving, AbortError)
  })
})

describe('powChallenge', () => {
  it('matches the spec layout, built independently with Buffer and node:crypto', () => {
    const u16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b }
    const ts = Buffer.alloc(8)
    ts.writeBigUInt64BE(BigInt(TS))
    const inbox = Buffer.from(INBOX, 'utf8')
    const cid = Buffer.from(CID_V1.bytes)
    const input = Buffer.concat([
      Buffer.from('ipms/pow/v1', 'utf8'), Buffer.from([0x00]), Buffer.from([20]), ts,
      u16(inbox.length), inbox, u16(cid.length), cid
    ])
    const expected = createHash('sha256').update(input).digest('hex')
    assert.equal(hex(powChallenge(BASE)), expected)
    // The same vector, frozen: docs/PROTOCOL.md quotes it.
    assert.equal(expected, '52ab39a2baed657906ae3b22a401effc2f892abbea481d35c628fbed618170b2')
  })

  it('is deterministic and 32 bytes', () => {
    const a = powChallenge(BASE)
    assert.ok(a instanceof Uint8Array)
    assert.equal(a.byteLength, 32)
    assert.equal(hex(powChallenge({ ...BASE })), hex(a))
  })

  it('changes when any of bits, ts, inbox or CID changes', () => {
    const variants = [
      BASE,
      { ...BASE, bits: 21 },
      { ...BASE, ts: TS + 1 },
      { ...BASE, inbox: INBOX + 'x' },
      { ...BASE, envelopeCid: CID_V0 },
      { ...BASE, envelopeCid: CID_V0.toV1() } // same block, other CID bytes
    ]
    const seen = new Set(variants.map((v) => hex(powChallenge(v))))
    assert.equal(seen.size, variants.length)
  })

  it('refuses bad arguments with InvalidArgumentError', () => {
    const bad: unknown[] = [
      null, undefined, 'params',
      { ...BASE, bits: -1 }, { ...BASE, bits: MAX_STAMP_BITS + 1 }, { ...BASE, bits: 1.5 }, { ...BASE, bits: Number.NaN }, { ...BASE, bits: '20' },
      { ...BASE, ts: -1 }, { ...BASE, ts: 1.5 }, { ...BASE, ts: Number.NaN }, { ...BASE, ts: 2 ** 53 }, { ...BASE, ts: String(TS) },
      { ...BASE, inbox: '' }, { ...BASE, inbox: 42 }, { ...BASE, inbox: 'x'.repeat(70000) },
      { ...BASE, envelopeCid: CID_V1.toString() }, { ...BASE, envelopeCid: CID_V1.bytes }, { ...BASE, envelopeCid: {} }, { ...BASE, envelopeCid: null }
    ]
    for (const params of bad) {
      assert.throws(() => powChallenge(params as never), InvalidArgumentError, `accepted ${JSON.stringify(params)?.slice(0, 80)}`)
    }
  })
})

describe('fast SHA-256 path', () => {
  it('agrees with node:crypto on the first hash word for 2,000 random challenges and nonces', () => {
    for (let i = 0; i < 2000; i++) {
      const challenge = randomChallenge()
      const nonce = randomBytes(POW_NONCE_BYTES)
      // Half the cases force the top bit of both nonce words (negative int32 words).
      if (i % 2 === 0) { nonce[0]! |= 0x80; nonce[4]! |= 0x80 }
      const expected = createHash('sha256').update(challenge).update(nonce).digest().readInt32BE(0)
      const ctx = powMidstate(challenge)
      assert.equal(firstHashWord(ctx, nonce.readInt32BE(0), nonce.readInt32BE(4)), expected, `challenge ${hex(challenge)} nonce ${nonce.toString('hex')}`)
    }
  })

  it('finds the same first hit as a node:crypto scan, across run boundaries and the low-word wrap', () => {
    for (let k = 0; k < 8; k++) {
      const challenge = randomChallenge()
      const hi = (randomBytes(4).readInt32BE(0))
      const lo = -700 // 0xfffffd44: the scan wraps through 0xffffffff → 0
      const bits = 9
      let expected = -1
      for (let i = 0; i < 4096 && expected < 0; i++) {
        const nonce = Buffer.alloc(8)
        nonce.writeInt32BE(hi, 0)
        nonce.writeInt32BE((lo + i) | 0, 4)
        if (referenceZeroBits(challenge, nonce) >= bits) expected = i
      }
      const found = scanNonces(powMidstate(challenge), hi, lo, 4096, topBitsMask(bits), new Int32Array(CONTROL_SLOTS))
      assert.equal(found, expected)
    }
  })

  it('leadingZeroBits counts from the first byte’s top bit', () => {
    assert.equal(leadingZeroBits(new Uint8Array([0x80])), 0)
    assert.equal(leadingZeroBits(new Uint8Array([0x01])), 7)
    assert.equal(leadingZeroBits(new Uint8Array([0, 0, 0x10, 0xff])), 19)
    assert.equal(leadingZeroBits(new Uint8Array(4)), 32)
    assert.equal(leadingZeroBits(new Uint8Array(0)), 0)
  })
})

describe('solve and verify', () => {
  for (const bits of [0, 1, 8, 16, 20]) {
    it(`solvePowSync finds a stamp at ${bits} bits`, () => {
      const challenge = randomChallenge()
      const nonce = solvePowSync(challenge, bits)
      assert.equal(nonce.byteLength, POW_NONCE_BYTES)
      assert.ok(referenceZeroBits(challenge, nonce) >= bits)
      assert.equal(verifyPow(challenge, bits, nonce), true)
    })
  }

  it('bits 0 accepts the first nonce and any well-formed nonce', () => {
    const challenge = randomChallenge()
    assert.equal(hex(solvePowSync(challenge, 0)), '0000000000000000')
    assert.equal(verifyPow(challenge, 0, new Uint8Array(randomBytes(8))), true)
  })

  it('solvePowSync starts at startNonce and wraps around the nonce space', () => {
    const challenge = randomChallenge()
    const start = 0x1234_5678_9abc_def0n
    const nonce = solvePowSync(challenge, 8, start)
    assert.ok(Buffer.from(nonce).readBigUInt64BE(0) >= start)
    assert.equal(verifyPow(challenge, 8, nonce), true)
    const wrapped = solvePowSync(challenge, 8, 0xffff_ffff_ffff_fff0n)
    assert.equal(verifyPow(challenge, 8, wrapped), true)
    assert.throws(() => solvePowSync(challenge, 8, -1n), InvalidArgumentError)
    assert.throws(() => solvePowSync(challenge, 8, 1n << 64n), InvalidArgumentError)
  })

  for (const bits of [0, 8, 16, 20]) {
    it(`solvePow finds a stamp at ${bits} bits${bits > 14 ? ' on worker threads' : ' in-thread'}`, async () => {
      const challenge = randomChallenge()
      const nonce = await solvePow(challenge, bits)
      assert.ok(referenceZeroBits(challenge, nonce) >= bits)
      assert.equal(verifyPow(challenge, bits, nonce), true)
    })
  }

  it('solvePow with one thread and with more threads than cores', async () => {
    for (const threads of [1, 3]) {
      const challenge = randomChallenge()
      assert.equal(verifyPow(challenge, 17, await solvePow(challenge, 17, { threads })), true)
    }
  })

  it('verify rejects a wrong nonce, a nonce of another challenge, and one bit more than the hash has', () => {
    const challenge = randomChallenge()
    const nonce = solvePowSync(challenge, 16)
    const actual = referenceZeroBits(challenge, nonce)
    assert.equal(verifyPow(challenge, actual, nonce), true)
    if (actual < 40) assert.equal(verifyPow(challenge, actual + 1, nonce), false)

    // A wrong nonce: the first one after the stamp that does not have 16 bits.
    const wrong = Buffer.from(nonce)
    do { wrong.writeBigUInt64BE((wrong.readBigUInt64BE(0) + 1n) & 0xffff_ffff_ffff_ffffn) } while (referenceZeroBits(challenge, wrong) >= 16)
    assert.equal(verifyPow(challenge, 16, wrong), false)

    // Another challenge for which this nonce happens not to work (nearly always the first).
    let other = randomChallenge()
    while (referenceZeroBits(other, nonce) >= 16) other = randomChallenge()
    assert.equal(verifyPow(other, 16, nonce), false)
  })

  it('verify never throws and says false to anything malformed', () => {
    const challenge = randomChallenge()
    const nonce = solvePowSync(challenge, 4)
    const hostile = new Proxy(new Uint8Array(32), { getPrototypeOf () { throw new Error('boom') } })
    const cases: Array<[unknown, unknown, unknown]> = [
      [undefined, 4, nonce], [challenge, 4, undefined], [null, 4, nonce], [challenge, 4, null], [challenge, undefined, nonce],
      ['x'.repeat(32), 4, nonce], [challenge, 4, 'x'.repeat(8)], [challenge, '4', nonce], [[...challenge], 4, nonce], [challenge, 4, [...nonce]],
      [challenge, 4, nonce.subarray(0, 7)], [challenge, 4, new Uint8Array(9)],
      [challenge.subarray(0, 31), 4, nonce], [new Uint8Array(33), 4, nonce], [new Uint8Array(0), 0, new Uint8Array(0)],
      [challenge, -1, nonce], [challenge, Number.NaN, nonce], [challenge, 4.5, nonce], [challenge, MAX_STAMP_BITS + 1, nonce],
      [challenge, 1e9, nonce], [challenge, Infinity, nonce], [challenge, 4n, nonce], [hostile, 4, nonce]
    ]
    for (const [c, b, n] of cases) {
      assert.equal(verifyPow(c as Uint8Array, b as number, n as Uint8Array), false)
    }
    assert.equal(verifyPow(challenge, 4, nonce), true)
    assert.equal(verifyPow(Buffer.from(challenge), 4, Buffer.from(nonce)), true) // Buffers are Uint8Arrays
  })

  it('solvePow and solvePowSync refuse bad arguments with InvalidArgumentError', async () => {
    const challenge = randomChallenge()
    await assert.rejects(solvePow(challenge.subarray(0, 31), 20), InvalidArgumentError)
    await assert.rejects(solvePow(challenge, MAX_STAMP_BITS + 1), InvalidArgumentError)
    await assert.rejects(solvePow(challenge, 20, { threads: 0 }), InvalidArgumentError)
    assert.throws(() => solvePowSync(new Uint8Array(33), 8), InvalidArgumentError)
    assert.throws(() => solvePowSync(challenge, -1), InvalidArgumentError)
  })
})

describe('abort and progress', () => {
  it('a signal aborted before the call rejects with AbortError at once', async () => {
    const controller = new AbortController()
    controller.abort()
    for (const bits of [8, 30]) {
      const started = performance.now()
      await assert.rejects(solvePow(randomChallenge(), bits, { signal: controller.signal }), AbortError)
      assert.ok(performance.now() - started < 500, 'no work is started for an aborted signal')
    }
  })

  it('aborting a hard solve rejects within a second, and the pool then solves again', async () => {
    const controller = new AbortController()
    let abortedAt = 0
    const solving = solvePow(randomChallenge(), 40, {
      signal: controller.signal,
      onProgress: () => {
        if (abortedAt !== 0) return
        abortedAt = performance.now() // the workers are searching now
        controller.abort(new Error('user cancelled'))
      }
    })
    await assert.rejects(solving, (err: unknown) => {
      assert.ok(err instanceof AbortError)
      assert.equal(err.code, 'ABORT_ERR')
      return true
    })
    assert.ok(abortedAt > 0)
    assert.ok(performance.now() - abortedAt < 2000, 'workers stop within a chunk, not at the end of a 40-bit search')
    const challenge = randomChallenge()
    assert.equal(verifyPow(challenge, 18, await solvePow(challenge, 18)), true)
  })

  it('onProgress reports increasing attempts while workers search, and stops with the solve', async () => {
    const controller = new AbortController()
    const seen: PowProgress[] = []
    const solving = solvePow(randomChallenge(), 40, {
      signal: controller.signal,
      onProgress: (progress) => {
        seen.push(progress)
        if (seen.length === 4) controller.abort()
      }
    })
    await assert.rejects(solving, AbortError)
    assert.equal(seen.length, 4)
    for (let i = 1; i < seen.length; i++) {
      assert.ok(seen[i]!.attempts >= seen[i - 1]!.attempts)
      assert.ok(seen[i]!.elapsedMs > seen[i - 1]!.elapsedMs)
    }
    assert.ok(seen[3]!.attempts > seen[0]!.attempts)
    assert.ok(Number.isInteger(seen[3]!.attempts))
    // A ~22-bit solve: whatever calls arrive before the stamp is found are in order.
    const during: number[] = []
    const challenge = randomChallenge()
    const nonce = await solvePow(challenge, 22, { onProgress: (p) => during.push(p.attempts) })
    assert.equal(verifyPow(challenge, 22, nonce), true)
    for (let i = 1; i < during.length; i++) assert.ok(during[i]! >= during[i - 1]!)
  })

  it('an onProgress that throws rejects the solve with its error', async () => {
    await assert.rejects(solvePow(randomChallenge(), 40, { onProgress: () => { throw new Error('progress broke') } }), /progress broke/)
  })
})

describe('worker pool', () => {
  it('an idle pool does not keep the process alive', async () => {
    const url = new URL('../../src/crypto/pow/index.ts', import.meta.url).href
    const script = `
      const { solvePow, verifyPow } = await import(${JSON.stringify(url)})
      const challenge = new Uint8Array(32).fill(7)
      const nonce = await solvePow(challenge, 18)
      console.log(verifyPow(challenge, 18, nonce))`
    const output = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 }, (err, stdout) => {
        if (err != null) reject(err)
        else resolve(stdout)
      })
    })
    assert.equal(output.trim(), 'true')
  })

  it('closePowPool ends the pool and the next solve builds a new one', async () => {
    const challenge = randomChallenge()
    assert.equal(verifyPow(challenge, 16, await solvePow(challenge, 16)), true)
    const rejected = assert.rejects(solvePow(randomChallenge(), 40), AbortError)
    await closePowPool()
    await rejected
    assert.equal(verifyPow(challenge, 16, await solvePow(challenge, 16)), true)
  })
})
