/**
 * Length hiding for envelope plaintexts (docs/PROTOCOL.md §3.2).
 *
 * padded = u32be(length) ‖ plaintext ‖ zero bytes, to a bucket size: 1 KiB at least, powers of two
 * up to 64 KiB, then Padmé (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
 * Communication with PURBs", PETS 2019): at most 12 % overhead and O(log log n) bits of leakage.
 * Hosts see envelope sizes; with buckets they learn a size class, not the length.
 *
 * Watch for: `unpad` checks everything (prefix, bucket, zero tail), so that one plaintext has exactly
 * one padded form and a malleated envelope cannot carry hidden bytes.
 */
import { MIN_PADDED_BYTES, POW2_PADDING_LIMIT } from '../constants.ts'
import { MalformedError } from '../errors.ts'

const PREFIX_BYTES = 4

/** The padded size for `n` bytes (length prefix included). */
export function paddedSize (n: number): number {
  if (n <= MIN_PADDED_BYTES) return MIN_PADDED_BYTES
  if (n <= POW2_PADDING_LIMIT) return 2 ** Math.ceil(Math.log2(n))
  const exponent = Math.floor(Math.log2(n))
  const sizeBits = Math.floor(Math.log2(exponent)) + 1
  const mask = 2 ** (exponent - sizeBits) - 1
  return Math.ceil(n / (mask + 1)) * (mask + 1)
}

// Zeros handed out as padding views, never written: the largest padding is under 64 KiB
// (Padmé steps up to 64 KiB for a 3 MiB mail; powers of two pad less than half of 64 KiB).
const ZEROS = new Uint8Array(POW2_PADDING_LIMIT)

/**
 * `pad(plaintext)` as three views, without copying: the length prefix, the plaintext itself and a
 * view of shared zeros. A streaming cipher encrypts them in turn, so a megabyte is not copied first.
 */
export function padParts (plaintext: Uint8Array): Uint8Array[] {
  const size = paddedSize(PREFIX_BYTES + plaintext.byteLength)
  const prefix = new Uint8Array(PREFIX_BYTES)
  new DataView(prefix.buffer).setUint32(0, plaintext.byteLength)
  let padding = size - PREFIX_BYTES - plaintext.byteLength
  const parts = [prefix, plaintext]
  while (padding > 0) {
    const zeros = ZEROS.subarray(0, Math.min(padding, ZEROS.byteLength))
    parts.push(zeros)
    padding -= zeros.byteLength
  }
  return parts
}

/** Pad a plaintext to its bucket, in one buffer. */
export function pad (plaintext: Uint8Array): Uint8Array {
  const parts = padParts(plaintext)
  const out = new Uint8Array(parts.reduce((n, part) => n + part.byteLength, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}

/** True when the first 4 bytes of a padded buffer of `total` bytes are a length that pads to `total`. */
export function plausiblePrefix (prefix: Uint8Array, total: number): boolean {
  if (prefix.byteLength < PREFIX_BYTES) return false
  const length = new DataView(prefix.buffer, prefix.byteOffset, PREFIX_BYTES).getUint32(0)
  return PREFIX_BYTES + length <= total && paddedSize(PREFIX_BYTES + length) === total
}

/** Remove the padding; MalformedError unless the buffer is exactly `pad(x)` for some x. */
export function unpad (padded: Uint8Array): Uint8Array {
  if (!plausiblePrefix(padded, padded.byteLength)) {
    throw new MalformedError('The envelope plaintext is not padded as IPMS v1 pads it')
  }
  const length = new DataView(padded.buffer, padded.byteOffset, PREFIX_BYTES).getUint32(0)
  const end = PREFIX_BYTES + length
  for (let i = end; i < padded.byteLength; i++) {
    if (padded[i] !== 0) throw new MalformedError('The envelope plaintext has non-zero padding')
  }
  return padded.subarray(PREFIX_BYTES, end)
}
