/**
 * Length-prefixed frames for IPMS's own protocols (/ipms/sync, /ipms/deliver): an unsigned-varint
 * length then the bytes, capped before anything is read into memory (PROTOCOL §10, §12).
 *
 * A frame is read in three steps, each of which may refuse it before the next costs anything:
 * 1. its length: over the cap → `TooLargeError` at once, the body unread;
 * 2. its head (the first `inspect.bytes` bytes), given to `inspect.check`, which throws to refuse
 *    it: a decode bomb announces millions of items in its first bytes;
 * 3. `admit(length)`, which throws to refuse it, or reserves memory for it; then the rest.
 *
 * Watch for: the varint is read byte by byte and refused past 4 bytes (more than any IPMS frame
 * needs), so a prefix of 0xff bytes never holds a stream until its deadline. The byte stream
 * buffers what arrives up to one whole frame of `maxBytes`: a stream whose first frame must be
 * small (a sync hello) is read with a small `frames` first, then `unwrap()`ped into a larger one.
 */
import { byteStream } from '@libp2p/utils'
import type { AbortOptions, Stream } from '@libp2p/interface'
import { MalformedError, TooLargeError } from '../errors.ts'

/** Bytes of a length prefix at most: 4 varint bytes say up to 256 MiB. */
const MAX_PREFIX_BYTES = 4

/** A frame's bytes as the byte stream hands them: chunks, joined by `subarray()`. */
type Chunks = Awaited<ReturnType<ReturnType<typeof byteStream>['read']>> & object

export interface FrameOptions {
  /** Called with each frame's length once its head passed, before the rest is read; throws to refuse the frame. */
  admit?: (length: number) => void
  /** Look at the first `bytes` bytes of each frame (all of a shorter one) before reading the rest. */
  inspect?: { bytes: number, check: (head: Uint8Array, length: number) => void }
}

export interface Frames {
  /** The next frame (its bytes as a list of chunks: `.subarray()` joins them). */
  read: (options?: AbortOptions) => Promise<Chunks>
  /** Write one frame. */
  write: (data: Uint8Array, options?: AbortOptions) => Promise<void>
  /** Stop reading frames here; what was read past the last frame goes back to the stream. */
  unwrap: () => Stream
}

/** Frames of at most `maxBytes`, with a read buffer that holds one whole frame. */
export function frames (stream: Stream, maxBytes: number, options: FrameOptions = {}): Frames {
  const bytes = byteStream(stream, { maxBufferSize: maxBytes + 16 })
  const readLength = async (readOptions: AbortOptions): Promise<number> => {
    let value = 0
    for (let i = 0; i < MAX_PREFIX_BYTES; i++) {
      const byte = (await bytes.read({ ...readOptions, bytes: 1 })).get(0)
      value += (byte & 0x7f) * 2 ** (7 * i)
      if (byte < 0x80) return value
    }
    throw new MalformedError('the peer sent a frame length prefix longer than any frame needs')
  }
  return {
    read: async (readOptions = {}) => {
      const length = await readLength(readOptions)
      if (length > maxBytes) throw new TooLargeError(`The peer announced a frame of ${length} bytes, over the limit of ${maxBytes} bytes; it is refused unread`)
      const first = options.inspect === undefined ? 0 : Math.min(length, options.inspect.bytes)
      const frame = await bytes.read({ ...readOptions, bytes: first })
      if (options.inspect !== undefined && length > 0) options.inspect.check(frame.subarray(), length)
      options.admit?.(length)
      if (frame.byteLength < length) frame.append(await bytes.read({ ...readOptions, bytes: length - frame.byteLength }))
      return frame
    },
    write: async (data, writeOptions) => {
      const prefix: number[] = []
      let n = data.byteLength
      while (n >= 0x80) { prefix.push((n % 0x80) | 0x80); n = Math.floor(n / 0x80) }
      prefix.push(n)
      await bytes.write(Uint8Array.from(prefix), writeOptions)
      await bytes.write(data, writeOptions)
    },
    unwrap: () => bytes.unwrap()
  }
}
