/**
 * SHA-256 specialised for the PoW input: one 64-byte block holding challenge (32) ‖ nonce (8) ‖
 * padding. FIPS 180-4 §6.2 (https://nvlpubs.nist.gov/nistpubs/FIPS/NIST.FIPS.180-4.pdf).
 *
 * The message words are W0..W7 = challenge, W8 = nonce high word, W9 = nonce low word,
 * W10 = 0x80000000, W11..W14 = 0, W15 = 320 (the length in bits). So:
 *  - rounds 0..7 depend on the challenge only: `powMidstate` runs them once per challenge;
 *  - round 8 and every schedule term built from W0..W8 and the padding are computed once per call
 *    of `scanNonces` (once per nonce high word) and kept in the context;
 *  - per attempt only W9 changes; rounds 9..63 run with W9 folded in, and only the first output
 *    word H0 = IV0 + a is formed, which is all a test of up to 32 leading zero bits needs.
 *
 * Watch for: the hot loop is unrolled by hand and must allocate nothing; every sum is truncated
 * with `| 0` so V8 keeps it in int32 registers. Rotations are written `x >>> n | x << (32 - n)`,
 * which TurboFan compiles to a single `ror`. Helper functions would read better but exceed V8's
 * inlining budget. The test "fast hash agrees with node:crypto" is what keeps this honest.
 */

// FIPS 180-4 §4.2.2: first 32 bits of the cube roots of the first 64 primes (rounds 0..7 here; the
// rest appear as literals in scanNonces, added to the constant message words where they can be).
const K0_7 = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5
])
// FIPS 180-4 §5.3.3: initial hash value.
const IV = Int32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
])

/** Attempts between two polls of the stop flag (and counts of progress): ~10 ms of one core. */
export const SEARCH_CHUNK = 1 << 16
/** Index in a control array of the stop flag (non-zero: stop). */
export const CONTROL_STOP = 0
/** Index in a control array of the number of chunks searched (progress, units of SEARCH_CHUNK). */
export const CONTROL_CHUNKS = 1
/** Int32 slots of a control array. */
export const CONTROL_SLOTS = 2

/** Index in the context where `scanNonces` leaves H0 of the attempt it stopped on. */
export const MIDSTATE_OUT = 16
/** Index in the context of the first per-high-word constant (written by scanNonces). */
const CONSTS = 17
/** Length of a midstate context. */
export const MIDSTATE_WORDS = 41

/**
 * Precompute rounds 0..7 for a 32-byte challenge. Returns the context `scanNonces` works in:
 * [0..7] the challenge as big-endian words, [8..15] the state a..h after round 7, [16] output,
 * then room for the constants of the current nonce high word. One context per search.
 */
export function powMidstate (challenge: Uint8Array): Int32Array {
  const ctx = new Int32Array(MIDSTATE_WORDS)
  for (let i = 0; i < 8; i++) {
    ctx[i] = challenge[4 * i]! << 24 | challenge[4 * i + 1]! << 16 | challenge[4 * i + 2]! << 8 | challenge[4 * i + 3]!
  }
  let a = IV[0]!; let b = IV[1]!; let c = IV[2]!; let d = IV[3]!
  let e = IV[4]!; let f = IV[5]!; let g = IV[6]!; let h = IV[7]!
  for (let t = 0; t < 8; t++) {
    const t1 = (h + ((e >>> 6 | e << 26) ^ (e >>> 11 | e << 21) ^ (e >>> 25 | e << 7)) + (g ^ e & (f ^ g)) + K0_7[t]! + ctx[t]!) | 0
    const t2 = (((a >>> 2 | a << 30) ^ (a >>> 13 | a << 19) ^ (a >>> 22 | a << 10)) + (a & b | c & (a | b))) | 0
    h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0
  }
  ctx[8] = a; ctx[9] = b; ctx[10] = c; ctx[11] = d; ctx[12] = e; ctx[13] = f; ctx[14] = g; ctx[15] = h
  return ctx
}

/** Mask of the top `bits` bits of a 32-bit word (bits 0..32), as an int32; 0 for 0 bits. */
export function topBitsMask (bits: number): number {
  if (bits <= 0) return 0
  if (bits >= 32) return -1
  return -1 << (32 - bits)
}

/**
 * H0 (the first big-endian word of SHA-256(challenge ‖ nonce)) computed by the fast path, as an
 * int32. For tests that hold the fast path against node:crypto.
 */
export function firstHashWord (ctx: Int32Array, hi: number, lo: number): number {
  scanNonces(ctx, hi, lo, 1, 0, new Int32Array(CONTROL_SLOTS))
  return ctx[MIDSTATE_OUT]!
}

/**
 * Try nonces (hi, lo), (hi, lo + 1), … (hi, lo + count - 1) (words as int32, lo wrapping mod
 * 2^32) against the context of `powMidstate`. Returns the offset of the first whose H0 has
 * `H0 & mask === 0` (and leaves that H0 in ctx[MIDSTATE_OUT]), or -1 if none does or when
 * stopped. Every SEARCH_CHUNK attempts it checks `control[CONTROL_STOP]` and adds one to
 * `control[CONTROL_CHUNKS]` (an Int32Array of CONTROL_SLOTS, shared between threads or not).
 */
export function scanNonces (ctx: Int32Array, hi: number, lo: number, count: number, mask: number, control: Int32Array): number {
  const w0 = ctx[0]!; const w1 = ctx[1]!; const w2 = ctx[2]!; const w3 = ctx[3]!
  const w4 = ctx[4]!; const w5 = ctx[5]!; const w6 = ctx[6]!; const w7 = ctx[7]!
  const w8 = hi | 0
  // Round 8 (W8 = nonce high word) on the state after round 7.
  const sa = ctx[8]!; const sb = ctx[9]!; const sc = ctx[10]!; let sd = ctx[11]!
  const se = ctx[12]!; const sf = ctx[13]!; const sg = ctx[14]!; let sh = ctx[15]!
  sh = (sh + ((se >>> 6 | se << 26) ^ (se >>> 11 | se << 21) ^ (se >>> 25 | se << 7)) + (sg ^ se & (sf ^ sg)) + -670586216 + w8) | 0
  sd = (sd + sh) | 0
  sh = (sh + ((sa >>> 2 | sa << 30) ^ (sa >>> 13 | sa << 19) ^ (sa >>> 22 | sa << 10)) + (sa & sb | sc & (sa | sb))) | 0
  // Round 9 up to W9: entering it the state is a..h = sh, sa, sb, sc, sd, se, sf, sg, so
  // T1 = r9 + W9, and after it a = a10 + W9, e = e10 + W9; the other six are known.
  const r9 = (sg + ((sd >>> 6 | sd << 26) ^ (sd >>> 11 | sd << 21) ^ (sd >>> 25 | sd << 7)) + (sf ^ sd & (se ^ sf)) + 310598401) | 0
  const e10 = (sc + r9) | 0
  const a10 = (r9 + ((sh >>> 2 | sh << 30) ^ (sh >>> 13 | sh << 19) ^ (sh >>> 22 | sh << 10)) + (sh & sa | sb & (sh | sa))) | 0
  const b10 = sh; const c10 = sa; const d10 = sb; const f10 = sd; const g10 = se; const h10 = sf
  // Message schedule (§6.2 step 1) terms that do not depend on W9: w<t> a whole constant word,
  // c<t> the constant part of W<t>, k<t> = K<t> + W<t>. W10..W15 are padding, folded as literals.
  const c16 = (((w1 >>> 7 | w1 << 25) ^ (w1 >>> 18 | w1 << 14) ^ w1 >>> 3) + w0) | 0
  const w17 = (((w2 >>> 7 | w2 << 25) ^ (w2 >>> 18 | w2 << 14) ^ w2 >>> 3) + w1 + -2138570752) | 0
  const c18 = (((w3 >>> 7 | w3 << 25) ^ (w3 >>> 18 | w3 << 14) ^ w3 >>> 3) + w2) | 0
  const w19 = (((w17 >>> 17 | w17 << 15) ^ (w17 >>> 19 | w17 << 13) ^ w17 >>> 10) + ((w4 >>> 7 | w4 << 25) ^ (w4 >>> 18 | w4 << 14) ^ w4 >>> 3) + w3) | 0
  const c20 = (((w5 >>> 7 | w5 << 25) ^ (w5 >>> 18 | w5 << 14) ^ w5 >>> 3) + w4) | 0
  const w21 = (((w19 >>> 17 | w19 << 15) ^ (w19 >>> 19 | w19 << 13) ^ w19 >>> 10) + ((w6 >>> 7 | w6 << 25) ^ (w6 >>> 18 | w6 << 14) ^ w6 >>> 3) + w5) | 0
  const c22 = (((w7 >>> 7 | w7 << 25) ^ (w7 >>> 18 | w7 << 14) ^ w7 >>> 3) + w6 + 320) | 0
  const c23 = (((w21 >>> 17 | w21 << 15) ^ (w21 >>> 19 | w21 << 13) ^ w21 >>> 10) + ((w8 >>> 7 | w8 << 25) ^ (w8 >>> 18 | w8 << 14) ^ w8 >>> 3) + w7) | 0
  const c24 = (w17 + w8) | 0
  const c26 = (w19 + -2147483648) | 0
  const c32 = (((w17 >>> 7 | w17 << 25) ^ (w17 >>> 18 | w17 << 14) ^ w17 >>> 3)) | 0
  const c34 = (((w19 >>> 7 | w19 << 25) ^ (w19 >>> 18 | w19 << 14) ^ w19 >>> 3)) | 0
  const c36 = (((w21 >>> 7 | w21 << 25) ^ (w21 >>> 18 | w21 << 14) ^ w21 >>> 3)) | 0
  const k17 = (w17 + -272742522) | 0
  const k19 = (w19 + 604807628) | 0
  const k21 = (w21 + 1249150122) | 0
  ctx[CONSTS + 0] = a10
  ctx[CONSTS + 1] = b10
  ctx[CONSTS + 2] = c10
  ctx[CONSTS + 3] = d10
  ctx[CONSTS + 4] = e10
  ctx[CONSTS + 5] = f10
  ctx[CONSTS + 6] = g10
  ctx[CONSTS + 7] = h10
  ctx[CONSTS + 8] = c16
  ctx[CONSTS + 9] = k17
  ctx[CONSTS + 10] = c18
  ctx[CONSTS + 11] = k19
  ctx[CONSTS + 12] = c20
  ctx[CONSTS + 13] = k21
  ctx[CONSTS + 14] = c22
  ctx[CONSTS + 15] = c23
  ctx[CONSTS + 16] = c24
  ctx[CONSTS + 17] = c26
  ctx[CONSTS + 18] = w21
  ctx[CONSTS + 19] = c32
  ctx[CONSTS + 20] = w17
  ctx[CONSTS + 21] = c34
  ctx[CONSTS + 22] = w19
  ctx[CONSTS + 23] = c36
  for (let done = 0; done < count;) {
    if (Atomics.load(control, CONTROL_STOP) !== 0) return -1
    Atomics.add(control, CONTROL_CHUNKS, 1)
    const end = Math.min(done + SEARCH_CHUNK, count)
    for (; done < end; done += RUN) {
      const found = scanRun(ctx, (lo + done) | 0, Math.min(RUN, end - done), mask)
      if (found >= 0) return done + found
    }
  }
  return -1
}

/**
 * Attempts per call of scanRun. V8 gives a function its fully optimised code after some thousands
 * of calls, but a loop that runs on inside one long call is optimised by on-stack replacement,
 * which measured ~30 % slower here. Short calls reach top speed within ~0.2 s.
 */
const RUN = 256

/** The hot loop: nonces (hi, base) … (hi, base + n - 1), hi's constants taken from ctx. */
function scanRun (ctx: Int32Array, base: number, n: number, mask: number): number {
  const a10 = ctx[CONSTS + 0]!
  const b10 = ctx[CONSTS + 1]!
  const c10 = ctx[CONSTS + 2]!
  const d10 = ctx[CONSTS + 3]!
  const e10 = ctx[CONSTS + 4]!
  const f10 = ctx[CONSTS + 5]!
  const g10 = ctx[CONSTS + 6]!
  const h10 = ctx[CONSTS + 7]!
  const c16 = ctx[CONSTS + 8]!
  const k17 = ctx[CONSTS + 9]!
  const c18 = ctx[CONSTS + 10]!
  const k19 = ctx[CONSTS + 11]!
  const c20 = ctx[CONSTS + 12]!
  const k21 = ctx[CONSTS + 13]!
  const c22 = ctx[CONSTS + 14]!
  const c23 = ctx[CONSTS + 15]!
  const c24 = ctx[CONSTS + 16]!
  const c26 = ctx[CONSTS + 17]!
  const w21 = ctx[CONSTS + 18]!
  const c32 = ctx[CONSTS + 19]!
  const w17 = ctx[CONSTS + 20]!
  const c34 = ctx[CONSTS + 21]!
  const w19 = ctx[CONSTS + 22]!
  const c36 = ctx[CONSTS + 23]!
  for (let j = 0; j < n; j++) {
    const x = (base + j) | 0 // W9
    let a = (a10 + x) | 0; let b = b10; let c = c10; let d = d10
    let e = (e10 + x) | 0; let f = f10; let g = g10; let h = h10
    // round 10
    h = (h + ((e >>> 6 | e << 26) ^ (e >>> 11 | e << 21) ^ (e >>> 25 | e << 7)) + (g ^ e & (f ^ g)) + -1540258370) | 0
    d = (d + h) | 0
    h = (h + ((a >>> 2 | a << 30) ^ (a >>> 13 | a << 19) ^ (a >>> 22 | a << 10)) + (a & b | c & (a | b))) | 0
    // round 11
    g = (g + ((d >>> 6 | d << 26) ^ (d >>> 11 | d << 21) ^ (d >>> 25 | d << 7)) + (f ^ d & (e ^ f)) + 1426881987) | 0
    c = (c + g) | 0
    g = (g + ((h >>> 2 | h << 30) ^ (h >>> 13 | h << 19) ^ (h >>> 22 | h << 10)) + (h & a | b & (h | a))) | 0
    // round 12
    f = (f + ((c >>> 6 | c << 26) ^ (c >>> 11 | c << 21) ^ (c >>> 25 | c << 7)) + (e ^ c & (d ^ e)) + 1925078388) | 0
    b = (b + f) | 0
    f = (f + ((g >>> 2 | g << 30) ^ (g >>> 13 | g << 19) ^ (g >>> 22 | g << 10)) + (g & h | a & (g | h))) | 0
    // round 13
    e = (e + ((b >>> 6 | b << 26) ^ (b >>> 11 | b << 21) ^ (b >>> 25 | b << 7)) + (d ^ b & (c ^ d)) + -2132889090) | 0
    a = (a + e) | 0
    e = (e + ((f >>> 2 | f << 30) ^ (f >>> 13 | f << 19) ^ (f >>> 22 | f << 10)) + (f & g | h & (f | g))) | 0
    // round 14
    d = (d + ((a >>> 6 | a << 26) ^ (a >>> 11 | a << 21) ^ (a >>> 25 | a << 7)) + (c ^ a & (b ^ c)) + -1680079193) | 0
    h = (h + d) | 0
    d = (d + ((e >>> 2 | e << 30) ^ (e >>> 13 | e << 19) ^ (e >>> 22 | e << 10)) + (e & f | g & (e | f))) | 0
    // round 15
    c = (c + ((h >>> 6 | h << 26) ^ (h >>> 11 | h << 21) ^ (h >>> 25 | h << 7)) + (b ^ h & (a ^ b)) + -1046744396) | 0
    g = (g + c) | 0
    c = (c + ((d >>> 2 | d << 30) ^ (d >>> 13 | d << 19) ^ (d >>> 22 | d << 10)) + (d & e | f & (d | e))) | 0
    // round 16
    const w16 = (x + c16) | 0
    b = (b + ((g >>> 6 | g << 26) ^ (g >>> 11 | g << 21) ^ (g >>> 25 | g << 7)) + (a ^ g & (h ^ a)) + w16 + -459576895) | 0
    f = (f + b) | 0
    b = (b + ((c >>> 2 | c << 30) ^ (c >>> 13 | c << 19) ^ (c >>> 22 | c << 10)) + (c & d | e & (c | d))) | 0
    // round 17
    a = (a + ((f >>> 6 | f << 26) ^ (f >>> 11 | f << 21) ^ (f >>> 25 | f << 7)) + (h ^ f & (g ^ h)) + k17) | 0
    e = (e + a) | 0
    a = (a + ((b >>> 2 | b << 30) ^ (b >>> 13 | b << 19) ^ (b >>> 22 | b << 10)) + (b & c | d & (b | c))) | 0
    // round 18
    const w18 = (((w16 >>> 17 | w16 << 15) ^ (w16 >>> 19 | w16 << 13) ^ w16 >>> 10) + c18) | 0
    h = (h + ((e >>> 6 | e << 26) ^ (e >>> 11 | e << 21) ^ (e >>> 25 | e << 7)) + (g ^ e & (f ^ g)) + w18 + 264347078) | 0
    d = (d + h) | 0
    h = (h + ((a >>> 2 | a << 30) ^ (a >>> 13 | a << 19) ^ (a >>> 22 | a << 10)) + (a & b | c & (a | b))) | 0
    // round 19
    g = (g + ((d >>> 6 | d << 26) ^ (d >>> 11 | d << 21) ^ (d >>> 25 | d << 7)) + (f ^ d & (e ^ f)) + k19) | 0
    c = (c + g) | 0
    g = (g + ((h >>> 2 | h << 30) ^ (h >>> 13 | h << 19) ^ (h >>> 22 | h << 10)) + (h & a | b & (h | a))) | 0
    // round 20
    const w20 = (((w18 >>> 17 | w18 << 15) ^ (w18 >>> 19 | w18 << 13) ^ w18 >>> 10) + c20) | 0
    f = (f + ((c >>> 6 | c << 26) ^ (c >>> 11 | c << 21) ^ (c >>> 25 | c << 7)) + (e ^ c & (d ^ e)) + w20 + 770255983) | 0
    b = (b + f) | 0
    f = (f + ((g >>> 2 | g << 30) ^ (g >>> 13 | g << 19) ^ (g >>> 22 | g << 10)) + (g & h | a & (g | h))) | 0
    // round 21
    e = (e + ((b >>> 6 | b << 26) ^ (b >>> 11 | b << 21) ^ (b >>> 25 | b << 7)) + (d ^ b & (c ^ d)) + k21) | 0
    a = (a + e) | 0
    e = (e + ((f >>> 2 | f << 30) ^ (f >>> 13 | f << 19) ^ (f >>> 22 | f << 10)) + (f & g | h & (f | g))) | 0
    // round 22
    const w22 = (((w20 >>> 17 | w20 << 15) ^ (w20 >>> 19 | w20 << 13) ^ w20 >>> 10) + c22) | 0
    d = (d + ((a >>> 6 | a << 26) ^ (a >>> 11 | a << 21) ^ (a >>> 25 | a << 7)) + (c ^ a & (b ^ c)) + w22 + 1555081692) | 0
    h = (h + d) | 0
    d = (d + ((e >>> 2 | e << 30) ^ (e >>> 13 | e << 19) ^ (e >>> 22 | e << 10)) + (e & f | g & (e | f))) | 0
    // round 23
    const w23 = (w16 + c23) | 0
    c = (c + ((h >>> 6 | h << 26) ^ (h >>> 11 | h << 21) ^ (h >>> 25 | h << 7)) + (b ^ h & (a ^ b)) + w23 + 1996064986) | 0
    g = (g + c) | 0
    c = (c + ((d >>> 2 | d << 30) ^ (d >>> 13 | d << 19) ^ (d >>> 22 | d << 10)) + (d & e | f & (d | e))) | 0
    // round 24
    const w24 = (((w22 >>> 17 | w22 << 15) ^ (w22 >>> 19 | w22 << 13) ^ w22 >>> 10) + ((x >>> 7 | x << 25) ^ (x >>> 18 | x << 14) ^ x >>> 3) + c24) | 0
    b = (b + ((g >>> 6 | g << 26) ^ (g >>> 11 | g << 21) ^ (g >>> 25 | g << 7)) + (a ^ g & (h ^ a)) + w24 + -1740746414) | 0
    f = (f + b) | 0
    b = (b + ((c >>> 2 | c << 30) ^ (c >>> 13 | c << 19) ^ (c >>> 22 | c << 10)) + (c & d | e & (c | d))) | 0
    // round 25
    const w25 = (((w23 >>> 17 | w23 << 15) ^ (w23 >>> 19 | w23 << 13) ^ w23 >>> 10) + w18 + x + 285220864) | 0
    a = (a + ((f >>> 6 | f << 26) ^ (f >>> 11 | f << 21) ^ (f >>> 25 | f << 7)) + (h ^ f & (g ^ h)) + w25 + -1473132947) | 0
    e = (e + a) | 0
    a = (a + ((b >>> 2 | b << 30) ^ (b >>> 13 | b << 19) ^ (b >>> 22 | b << 10)) + (b & c | d & (b | c))) | 0
    // round 26
    const w26 = (((w24 >>> 17 | w24 << 15) ^ (w24 >>> 19 | w24 << 13) ^ w24 >>> 10) + c26) | 0
    h = (h + ((e >>> 6 | e << 26) ^ (e >>> 11 | e << 21) ^ (e >>> 25 | e << 7)) + (g ^ e & (f ^ g)) + w26 + -1341970488) | 0
    d = (d + h) | 0
    h = (h + ((a >>> 2 | a << 30) ^ (a >>> 13 | a << 19) ^ (a >>> 22 | a << 10)) + (a & b | c & (a | b))) | 0
    // round 27
    const w27 = (((w25 >>> 17 | w25 << 15) ^ (w25 >>> 19 | w25 << 13) ^ w25 >>> 10) + w20) | 0
    g = (g + ((d >>> 6 | d << 26) ^ (d >>> 11 | d << 21) ^ (d >>> 25 | d << 7)) + (f ^ d & (e ^ f)) + w27 + -1084653625) | 0
    c = (c + g) | 0
    g = (g + ((h >>> 2 | h << 30) ^ (h >>> 13 | h << 19) ^ (h >>> 22 | h << 10)) + (h & a | b & (h | a))) | 0
    // round 28
    const w28 = (((w26 >>> 17 | w26 << 15) ^ (w26 >>> 19 | w26 << 13) ^ w26 >>> 10) + w21) | 0
    f = (f + ((c >>> 6 | c << 26) ^ (c >>> 11 | c << 21) ^ (c >>> 25 | c << 7)) + (e ^ c & (d ^ e)) + w28 + -958395405) | 0
    b = (b + f) | 0
    f = (f + ((g >>> 2 | g << 30) ^ (g >>> 13 | g << 19) ^ (g >>> 22 | g << 10)) + (g & h | a & (g | h))) | 0
    // round 29
    const w29 = (((w27 >>> 17 | w27 << 15) ^ (w27 >>> 19 | w27 << 13) ^ w27 >>> 10) + w22) | 0
    e = (e + ((b >>> 6 | b << 26) ^ (b >>> 11 | b << 21) ^ (b >>> 25 | b << 7)) + (d ^ b & (c ^ d)) + w29 + -710438585) | 0
    a = (a + e) | 0
    e = (e + ((f >>> 2 | f << 30) ^ (f >>> 13 | f << 19) ^ (f >>> 22 | f << 10)) + (f & g | h & (f | g))) | 0
    // round 30
    const w30 = (((w28 >>> 17 | w28 << 15) ^ (w28 >>> 19 | w28 << 13) ^ w28 >>> 10) + w23 + -2142240726) | 0
    d = (d + ((a >>> 6 | a << 26) ^ (a >>> 11 | a << 21) ^ (a >>> 25 | a << 7)) + (c ^ a & (b ^ c)) + w30 + 113926993) | 0
    h = (h + d) | 0
    d = (d + ((e >>> 2 | e << 30) ^ (e >>> 13 | e << 19) ^ (e >>> 22 | e << 10)) + (e & f | g & (e | f))) | 0
    // round 31
    const w31 = (((w29 >>> 17 | w29 << 15) ^ (w29 >>> 19 | w29 << 13) ^ w29 >>> 10) + w24 + ((w16 >>> 7 | w16 << 25) ^ (w16 >>> 18 | w16 << 14) ^ w16 >>> 3) + 320) | 0
    c = (c + ((h >>> 6 | h << 26) ^ (h >>> 11 | h << 21) ^ (h >>> 25 | h << 7)) + (b ^ h & (a ^ b)) + w31 + 338241895) | 0
    g = (g + c) | 0
    c = (c + ((d >>> 2 | d << 30) ^ (d >>> 13 | d << 19) ^ (d >>> 22 | d << 10)) + (d & e | f & (d | e))) | 0
    // round 32
    const w32 = (((w30 >>> 17 | w30 << 15) ^ (w30 >>> 19 | w30 << 13) ^ w30 >>> 10) + w25 + w16 + c32) | 0
    b = (b + ((g >>> 6 | g << 26) ^ (g >>> 11 | g << 21) ^ (g >>> 25 | g << 7)) + (a ^ g & (h ^ a)) + w32 + 666307205) | 0
    f = (f + b) | 0
    b = (b + ((c >>> 2 | c << 30) ^ (c >>> 13 | c << 19) ^ (c >>> 22 | c << 10)) + (c & d | e & (c | d))) | 0
    // round 33
    const w33 = (((w31 >>> 17 | w31 << 15) ^ (w31 >>> 19 | w31 << 13) ^ w31 >>> 10) + w26 + ((w18 >>> 7 | w18 << 25) ^ (w18 >>> 18 | w18 << 14) ^ w18 >>> 3) + w17) | 0
    a = (a + ((f >>> 6 | f << 26) ^ (f >>> 11 | f << 21) ^ (f >>> 25 | f << 7)) + (h ^ f & (g ^ h)) + w33 + 773529912) | 0
    e = (e + a) | 0
    a = (a + ((b >>> 2 | b << 30) ^ (b >>> 13 | b << 19) ^ (b >>> 22 | b << 10)) + (b & c | d & (b | c))) | 0
    // round 34
    const w34 = (((w32 >>> 17 | w32 << 15) ^ (w32 >>> 19 | w32 << 13) ^ w32 >>> 10) + w27 + w18 + c34) | 0
    h = (h + ((e >>> 6 | e << 26) ^ (e >>> 11 | e << 21) ^ (e >>> 25 | e << 7)) + (g ^ e & (f ^ g)) + w34 + 1294757372) | 0
    d = (d + h) | 0
    h = (h + ((a >>> 2 | a << 30) ^ (a >>> 13 | a << 19) ^ (a >>> 22 | a << 10)) + (a & b | c & (a | b))) | 0
    // round 35
    const w35 = (((w33 >>> 17 | w33 << 15) ^ (w33 >>> 19 | w33 << 13) ^ w33 >>> 10) + w28 + ((w20 >>> 7 | w20 << 25) ^ (w20 >>> 18 | w20 << 14) ^ w20 >>> 3) + w19) | 0
    g = (g + ((d >>> 6 | d << 26) ^ (d >>> 11 | d << 21) ^ (d >>> 25 | d << 7)) + (f ^ d & (e ^ f)) + w35 + 1396182291) | 0
    c = (c + g) | 0
    g = (g + ((h >>> 2 | h << 30) ^ (h >>> 13 | h << 19) ^ (h >>> 22 | h << 10)) + (h & a | b & (h | a))) | 0
    // round 36
    const w36 = (((w34 >>> 17 | w34 << 15) ^ (w34 >>> 19 | w34 << 13) ^ w34 >>> 10) + w29 + w20 + c36) | 0
    f = (f + ((c >>> 6 | c << 26) ^ (c >>> 11 | c << 21) ^ (c >>> 25 | c << 7)) + (e ^ c & (d ^ e)) + w36 + 1695183700) | 0
    b = (b + f) | 0
    f = (f + ((g >>> 2 | g << 30) ^ (g >>> 13 | g << 19) ^ (g >>> 22 | g << 10)) + (g & h | a & (g | h))) | 0
    // round 37
    const w37 = (((w35 >>> 17 | w35 << 15) ^ (w35 >>> 19 | w35 << 13) ^ w35 >>> 10) + w30 + ((w22 >>> 7 | w22 << 25) ^ (w22 >>> 18 | w22 << 14) ^ w22 >>> 3) + w21) | 0
    e = (e + ((b >>> 6 | b << 26) ^ (b >>> 11 | b << 21) ^ (b >>> 25 | b << 7)) + (d ^ b & (c ^ d)) + w37 + 1986661051) | 0
    a = (a + e) | 0
    e = (e + ((f >>> 2 | f << 30) ^ (f >>> 13 | f << 19) ^ (f >>> 22 | f << 10)) + (f & g | h & (f | g))) | 0
    // round 38
    const w38 = (((w36 >>> 17 | w36 << 15) ^ (w36 >>> 19 | w36 << 13) ^ w36 >>> 10) + w31 + ((w23 >>> 7 | w23 << 25) ^ (w23 >>> 18 | w23 << 14) ^ w23 >>> 3) + w22) | 0
    d = (d + ((a >>> 6 | a << 26) ^ (a >>> 11 | a << 21) ^ (a >>> 25 | a << 7)) + (c ^ a & (b ^ c)) + w38 + -2117940946) | 0
    h = (h + d) | 0
    d = (d + ((e >>> 2 | e << 30) ^ (e >>> 13 | e << 19) ^ (e >>> 22 | e << 10)) + (e & f | g & (e | f))) | 0
    // round 39
    const w39 = (((w37 >>> 17 | w37 << 15) ^ (w37 >>> 19 | w37 << 13) ^ w37 >>> 10) + w32 + ((w24 >>> 7 | w24 << 25) ^ (w24 >>> 18 | w24 << 14) ^ w24 >>> 3) + w23) | 0
    c = (c + ((h >>> 6 | h << 26) ^ (h >>> 11 | h << 21) ^ (h >>> 25 | h << 7)) + (b ^ h & (a ^ b)) + w39 + -1838011259) | 0
    g = (g + c) | 0
    c = (c + ((d >>> 2 | d << 30) ^ (d >>> 13 | d << 19) ^ (d >>> 22 | d << 10)) + (d & e | f & (d | e))) | 0
    // round 40
    const w40 = (((w38 >>> 17 | w38 << 15) ^ (w38 >>> 19 | w38 << 13) ^ w38 >>> 10) + w33 + ((w25 >>> 7 | w25 << 25) ^ (w25 >>> 18 | w25 << 14) ^ w25 >>> 3) + w24) | 0
    b = (b + ((g >>> 6 | g << 26) ^ (g >>> 11 | g << 21) ^ (g >>> 25 | g << 7)) + (a ^ g & (h ^ a)) + w40 + -1564481375) | 0
    f = (f + b) | 0
    b = (b + ((c >>> 2 | c << 30) ^ (c >>> 13 | c << 19) ^ (c >>> 22 | c << 10)) + (c & d | e & (c | d))) | 0
    // round 41
    const w41 = (((w39 >>> 17 | w39 << 15) ^ (w39 >>> 19 | w39 << 13) ^ w39 >>> 10) + w34 + ((w26 >>> 7 | w26 << 25) ^ (w26 >>> 18 | w26 << 14) ^ w26 >>> 3) + w25) | 0
    a = (a + ((f >>> 6 | f << 26) ^ (f >>> 11 | f << 21) ^ (f >>> 25 | f << 7)) + (h ^ f & (g ^ h)) + w41 + -1474664885) | 0
    e = (e + a) | 0
    a = (a + ((b >>> 2 | b << 30) ^ (b >>> 13 | b << 19) ^ (b >>> 22 | b << 10)) + (b & c | d & (b | c))) | 0
    // round 42
    const w42 = (((w40 >>> 17 | w40 << 15) ^ (w40 >>> 19 | w40 << 13) ^ w40 >>> 10) + w35 + ((w27 >>> 7 | w27 << 25) ^ (w27 >>> 18 | w27 << 14) ^ w27 >>> 3) + w26) | 0
    h = (h + ((e >>> 6 | e << 26) ^ (e >>> 11 | e << 21) ^ (e >>> 25 | e << 7)) + (g ^ e & (f ^ g)) + w42 + -1035236496) | 0
    d = (d + h) | 0
    h = (h + ((a >>> 2 | a << 30) ^ (a >>> 13 | a << 19) ^ (a >>> 22 | a << 10)) + (a & b | c & (a | b))) | 0
    // round 43
    const w43 = (((w41 >>> 17 | w41 << 15) ^ (w41 >>> 19 | w41 << 13) ^ w41 >>> 10) + w36 + ((w28 >>> 7 | w28 << 25) ^ (w28 >>> 18 | w28 << 14) ^ w28 >>> 3) + w27) | 0
    g = (g + ((d >>> 6 | d << 26) ^ (d >>> 11 | d << 21) ^ (d >>> 25 | d << 7)) + (f ^ d & (e ^ f)) + w43 + -949202525) | 0
    c = (c + g) | 0
    g = (g + ((h >>> 2 | h << 30) ^ (h >>> 13 | h << 19) ^ (h >>> 22 | h << 10)) + (h & a | b & (h | a))) | 0
    // round 44
    const w44 = (((w42 >>> 17 | w42 << 15) ^ (w42 >>> 19 | w42 << 13) ^ w42 >>> 10) + w37 + ((w29 >>> 7 | w29 << 25) ^ (w29 >>> 18 | w29 << 14) ^ w29 >>> 3) + w28) | 0
    f = (f + ((c >>> 6 | c << 26) ^ (c >>> 11 | c << 21) ^ (c >>> 25 | c << 7)) + (e ^ c & (d ^ e)) + w44 + -778901479) | 0
    b = (b + f) | 0
    f = (f + ((g >>> 2 | g << 30) ^ (g >>> 13 | g << 19) ^ (g >>> 22 | g << 10)) + (g & h | a & (g | h))) | 0
    // round 45
    const w45 = (((w43 >>> 17 | w43 << 15) ^ (w43 >>> 19 | w43 << 13) ^ w43 >>> 10) + w38 + ((w30 >>> 7 | w30 << 25) ^ (w30 >>> 18 | w30 << 14) ^ w30 >>> 3) + w29) | 0
    e = (e + ((b >>> 6 | b << 26) ^ (b >>> 11 | b << 21) ^ (b >>> 25 | b << 7)) + (d ^ b & (c ^ d)) + w45 + -694614492) | 0
    a = (a + e) | 0
    e = (e + ((f >>> 2 | f << 30) ^ (f >>> 13 | f << 19) ^ (f >>> 22 | f << 10)) + (f & g | h & (f | g))) | 0
    // round 46
    const w46 = (((w44 >>> 17 | w44 << 15) ^ (w44 >>> 19 | w44 << 13) ^ w44 >>> 10) + w39 + ((w31 >>> 7 | w31 << 25) ^ (w31 >>> 18 | w31 << 14) ^ w31 >>> 3) + w30) | 0
    d = (d + ((a >>> 6 | a << 26) ^ (a >>> 11 | a << 21) ^ (a >>> 25 | a << 7)) + (c ^ a & (b ^ c)) + w46 + -200395387) | 0
    h = (h + d) | 0
    d = (d + ((e >>> 2 | e << 30) ^ (e >>> 13 | e << 19) ^ (e >>> 22 | e << 10)) + (e & f | g & (e | f))) | 0
    // round 47
    const w47 = (((w45 >>> 17 | w45 << 15) ^ (w45 >>> 19 | w45 << 13) ^ w45 >>> 10) + w40 + ((w32 >>> 7 | w32 << 25) ^ (w32 >>> 18 | w32 << 14) ^ w32 >>> 3) + w31) | 0
    c = (c + ((h >>> 6 | h << 26) ^ (h >>> 11 | h << 21) ^ (h >>> 25 | h << 7)) + (b ^ h & (a ^ b)) + w47 + 275423344) | 0
    g = (g + c) | 0
    c = (c + ((d >>> 2 | d << 30) ^ (d >>> 13 | d << 19) ^ (d >>> 22 | d << 10)) + (d & e | f & (d | e))) | 0
    // round 48
    const w48 = (((w46 >>> 17 | w46 << 15) ^ (w46 >>> 19 | w46 << 13) ^ w46 >>> 10) + w41 + ((w33 >>> 7 | w33 << 25) ^ (w33 >>> 18 | w33 << 14) ^ w33 >>> 3) + w32) | 0
    b = (b + ((g >>> 6 | g << 26) ^ (g >>> 11 | g << 21) ^ (g >>> 25 | g << 7)) + (a ^ g & (h ^ a)) + w48 + 430227734) | 0
    f = (f + b) | 0
    b = (b + ((c >>> 2 | c << 30) ^ (c >>> 13 | c << 19) ^ (c >>> 22 | c << 10)) + (c & d | e & (c | d))) | 0
    // round 49
    const w49 = (((w47 >>> 17 | w47 << 15) ^ (w47 >>> 19 | w47 << 13) ^ w47 >>> 10) + w42 + ((w34 >>> 7 | w34 << 25) ^ (w34 >>> 18 | w34 << 14) ^ w34 >>> 3) + w33) | 0
    a = (a + ((f >>> 6 | f << 26) ^ (f >>> 11 | f << 21) ^ (f >>> 25 | f << 7)) + (h ^ f & (g ^ h)) + w49 + 506948616) | 0
    e = (e + a) | 0
    a = (a + ((b >>> 2 | b << 30) ^ (b >>> 13 | b << 19) ^ (b >>> 22 | b << 10)) + (b & c | d & (b | c))) | 0
    // round 50
    const w50 = (((w48 >>> 17 | w48 << 15) ^ (w48 >>> 19 | w48 << 13) ^ w48 >>> 10) + w43 + ((w35 >>> 7 | w35 << 25) ^ (w35 >>> 18 | w35 << 14) ^ w35 >>> 3) + w34) | 0
    h = (h + ((e >>> 6 | e << 26) ^ (e >>> 11 | e << 21) ^ (e >>> 25 | e << 7)) + (g ^ e & (f ^ g)) + w50 + 659060556) | 0
    d = (d + h) | 0
    h = (h + ((a >>> 2 | a << 30) ^ (a >>> 13 | a << 19) ^ (a >>> 22 | a << 10)) + (a & b | c & (a | b))) | 0
    // round 51
    const w51 = (((w49 >>> 17 | w49 << 15) ^ (w49 >>> 19 | w49 << 13) ^ w49 >>> 10) + w44 + ((w36 >>> 7 | w36 << 25) ^ (w36 >>> 18 | w36 << 14) ^ w36 >>> 3) + w35) | 0
    g = (g + ((d >>> 6 | d << 26) ^ (d >>> 11 | d << 21) ^ (d >>> 25 | d << 7)) + (f ^ d & (e ^ f)) + w51 + 883997877) | 0
    c = (c + g) | 0
    g = (g + ((h >>> 2 | h << 30) ^ (h >>> 13 | h << 19) ^ (h >>> 22 | h << 10)) + (h & a | b & (h | a))) | 0
    // round 52
    const w52 = (((w50 >>> 17 | w50 << 15) ^ (w50 >>> 19 | w50 << 13) ^ w50 >>> 10) + w45 + ((w37 >>> 7 | w37 << 25) ^ (w37 >>> 18 | w37 << 14) ^ w37 >>> 3) + w36) | 0
    f = (f + ((c >>> 6 | c << 26) ^ (c >>> 11 | c << 21) ^ (c >>> 25 | c << 7)) + (e ^ c & (d ^ e)) + w52 + 958139571) | 0
    b = (b + f) | 0
    f = (f + ((g >>> 2 | g << 30) ^ (g >>> 13 | g << 19) ^ (g >>> 22 | g << 10)) + (g & h | a & (g | h))) | 0
    // round 53
    const w53 = (((w51 >>> 17 | w51 << 15) ^ (w51 >>> 19 | w51 << 13) ^ w51 >>> 10) + w46 + ((w38 >>> 7 | w38 << 25) ^ (w38 >>> 18 | w38 << 14) ^ w38 >>> 3) + w37) | 0
    e = (e + ((b >>> 6 | b << 26) ^ (b >>> 11 | b << 21) ^ (b >>> 25 | b << 7)) + (d ^ b & (c ^ d)) + w53 + 1322822218) | 0
    a = (a + e) | 0
    e = (e + ((f >>> 2 | f << 30) ^ (f >>> 13 | f << 19) ^ (f >>> 22 | f << 10)) + (f & g | h & (f | g))) | 0
    // round 54
    const w54 = (((w52 >>> 17 | w52 << 15) ^ (w52 >>> 19 | w52 << 13) ^ w52 >>> 10) + w47 + ((w39 >>> 7 | w39 << 25) ^ (w39 >>> 18 | w39 << 14) ^ w39 >>> 3) + w38) | 0
    d = (d + ((a >>> 6 | a << 26) ^ (a >>> 11 | a << 21) ^ (a >>> 25 | a << 7)) + (c ^ a & (b ^ c)) + w54 + 1537002063) | 0
    h = (h + d) | 0
    d = (d + ((e >>> 2 | e << 30) ^ (e >>> 13 | e << 19) ^ (e >>> 22 | e << 10)) + (e & f | g & (e | f))) | 0
    // round 55
    const w55 = (((w53 >>> 17 | w53 << 15) ^ (w53 >>> 19 | w53 << 13) ^ w53 >>> 10) + w48 + ((w40 >>> 7 | w40 << 25) ^ (w40 >>> 18 | w40 << 14) ^ w40 >>> 3) + w39) | 0
    c = (c + ((h >>> 6 | h << 26) ^ (h >>> 11 | h << 21) ^ (h >>> 25 | h << 7)) + (b ^ h & (a ^ b)) + w55 + 1747873779) | 0
    g = (g + c) | 0
    c = (c + ((d >>> 2 | d << 30) ^ (d >>> 13 | d << 19) ^ (d >>> 22 | d << 10)) + (d & e | f & (d | e))) | 0
    // round 56
    const w56 = (((w54 >>> 17 | w54 << 15) ^ (w54 >>> 19 | w54 << 13) ^ w54 >>> 10) + w49 + ((w41 >>> 7 | w41 << 25) ^ (w41 >>> 18 | w41 << 14) ^ w41 >>> 3) + w40) | 0
    b = (b + ((g >>> 6 | g << 26) ^ (g >>> 11 | g << 21) ^ (g >>> 25 | g << 7)) + (a ^ g & (h ^ a)) + w56 + 1955562222) | 0
    f = (f + b) | 0
    b = (b + ((c >>> 2 | c << 30) ^ (c >>> 13 | c << 19) ^ (c >>> 22 | c << 10)) + (c & d | e & (c | d))) | 0
    // round 57
    const w57 = (((w55 >>> 17 | w55 << 15) ^ (w55 >>> 19 | w55 << 13) ^ w55 >>> 10) + w50 + ((w42 >>> 7 | w42 << 25) ^ (w42 >>> 18 | w42 << 14) ^ w42 >>> 3) + w41) | 0
    a = (a + ((f >>> 6 | f << 26) ^ (f >>> 11 | f << 21) ^ (f >>> 25 | f << 7)) + (h ^ f & (g ^ h)) + w57 + 2024104815) | 0
    e = (e + a) | 0
    a = (a + ((b >>> 2 | b << 30) ^ (b >>> 13 | b << 19) ^ (b >>> 22 | b << 10)) + (b & c | d & (b | c))) | 0
    // round 58
    const w58 = (((w56 >>> 17 | w56 << 15) ^ (w56 >>> 19 | w56 << 13) ^ w56 >>> 10) + w51 + ((w43 >>> 7 | w43 << 25) ^ (w43 >>> 18 | w43 << 14) ^ w43 >>> 3) + w42) | 0
    h = (h + ((e >>> 6 | e << 26) ^ (e >>> 11 | e << 21) ^ (e >>> 25 | e << 7)) + (g ^ e & (f ^ g)) + w58 + -2067236844) | 0
    d = (d + h) | 0
    h = (h + ((a >>> 2 | a << 30) ^ (a >>> 13 | a << 19) ^ (a >>> 22 | a << 10)) + (a & b | c & (a | b))) | 0
    // round 59
    const w59 = (((w57 >>> 17 | w57 << 15) ^ (w57 >>> 19 | w57 << 13) ^ w57 >>> 10) + w52 + ((w44 >>> 7 | w44 << 25) ^ (w44 >>> 18 | w44 << 14) ^ w44 >>> 3) + w43) | 0
    g = (g + ((d >>> 6 | d << 26) ^ (d >>> 11 | d << 21) ^ (d >>> 25 | d << 7)) + (f ^ d & (e ^ f)) + w59 + -1933114872) | 0
    c = (c + g) | 0
    g = (g + ((h >>> 2 | h << 30) ^ (h >>> 13 | h << 19) ^ (h >>> 22 | h << 10)) + (h & a | b & (h | a))) | 0
    // round 60
    const w60 = (((w58 >>> 17 | w58 << 15) ^ (w58 >>> 19 | w58 << 13) ^ w58 >>> 10) + w53 + ((w45 >>> 7 | w45 << 25) ^ (w45 >>> 18 | w45 << 14) ^ w45 >>> 3) + w44) | 0
    f = (f + ((c >>> 6 | c << 26) ^ (c >>> 11 | c << 21) ^ (c >>> 25 | c << 7)) + (e ^ c & (d ^ e)) + w60 + -1866530822) | 0
    b = (b + f) | 0
    f = (f + ((g >>> 2 | g << 30) ^ (g >>> 13 | g << 19) ^ (g >>> 22 | g << 10)) + (g & h | a & (g | h))) | 0
    // round 61
    const w61 = (((w59 >>> 17 | w59 << 15) ^ (w59 >>> 19 | w59 << 13) ^ w59 >>> 10) + w54 + ((w46 >>> 7 | w46 << 25) ^ (w46 >>> 18 | w46 << 14) ^ w46 >>> 3) + w45) | 0
    e = (e + ((b >>> 6 | b << 26) ^ (b >>> 11 | b << 21) ^ (b >>> 25 | b << 7)) + (d ^ b & (c ^ d)) + w61 + -1538233109) | 0
    a = (a + e) | 0
    e = (e + ((f >>> 2 | f << 30) ^ (f >>> 13 | f << 19) ^ (f >>> 22 | f << 10)) + (f & g | h & (f | g))) | 0
    // round 62
    const w62 = (((w60 >>> 17 | w60 << 15) ^ (w60 >>> 19 | w60 << 13) ^ w60 >>> 10) + w55 + ((w47 >>> 7 | w47 << 25) ^ (w47 >>> 18 | w47 << 14) ^ w47 >>> 3) + w46) | 0
    d = (d + ((a >>> 6 | a << 26) ^ (a >>> 11 | a << 21) ^ (a >>> 25 | a << 7)) + (c ^ a & (b ^ c)) + w62 + -1090935817) | 0
    h = (h + d) | 0
    d = (d + ((e >>> 2 | e << 30) ^ (e >>> 13 | e << 19) ^ (e >>> 22 | e << 10)) + (e & f | g & (e | f))) | 0
    // round 63
    const w63 = (((w61 >>> 17 | w61 << 15) ^ (w61 >>> 19 | w61 << 13) ^ w61 >>> 10) + w56 + ((w48 >>> 7 | w48 << 25) ^ (w48 >>> 18 | w48 << 14) ^ w48 >>> 3) + w47) | 0
    c = (c + ((h >>> 6 | h << 26) ^ (h >>> 11 | h << 21) ^ (h >>> 25 | h << 7)) + (b ^ h & (a ^ b)) + w63 + -965641998 + ((d >>> 2 | d << 30) ^ (d >>> 13 | d << 19) ^ (d >>> 22 | d << 10)) + (d & e | f & (d | e))) | 0 // only a is needed after the last round
    const h0 = (c + 1779033703) | 0
    if ((h0 & mask) === 0) {
      ctx[MIDSTATE_OUT] = h0
      return j
    }
  }
  return -1
}
