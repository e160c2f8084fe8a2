/**
 * Random bytes from a pooled CSPRNG read.
 *
 * Each `crypto.randomBytes` call costs 5–30 µs here whatever its size (a syscall and a buffer), and
 * sealing a mail needs two small draws (the nonce, the mail id). Drawing 4 KiB at once and handing
 * out fresh slices makes that cost vanish, as Node itself does for `randomUUID`. Every byte is
 * handed out once; the pool is refilled, never reused.
 */
import crypto from 'node:crypto'

const POOL_BYTES = 4096
let pool = new Uint8Array(0)
let offset = 0

/** `n` fresh random bytes (a copy the caller owns). */
export function randomBytes (n: number): Uint8Array {
  if (n > POOL_BYTES / 4) return new Uint8Array(crypto.randomBytes(n))
  if (offset + n > pool.byteLength) {
    pool = new Uint8Array(crypto.randomBytes(POOL_BYTES))
    offset = 0
  }
  const out = pool.slice(offset, offset + n)
  pool.fill(0, offset, offset + n)
  offset += n
  return out
}
