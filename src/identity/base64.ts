/**
 * Strict standard base64 (RFC 4648 §4, padded) for key files.
 *
 * Watch out for: `Buffer.from(text, 'base64')` silently skips characters it does not know and
 * accepts missing padding, so a damaged key file would decode to *some* bytes. Here only the
 * canonical encoding of some byte string is accepted; anything else returns `undefined`.
 */

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** Standard padded base64 of `bytes`. */
export function toBase64 (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}

/** The bytes of a canonical standard base64 string, or `undefined` if `text` is not one. */
export function fromBase64 (text: unknown): Uint8Array | undefined {
  if (typeof text !== 'string' || !BASE64.test(text)) return undefined
  const bytes = Buffer.from(text, 'base64')
  // Non-zero bits after the last full byte make a second spelling of the same bytes: refuse it.
  const canonical = bytes.toString('base64') === text
  // A copy, so that callers own (and may wipe) a buffer that is not a slice of Node's shared pool.
  const out = canonical ? Uint8Array.from(bytes) : undefined
  bytes.fill(0)
  return out
}
