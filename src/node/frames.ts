/**
 * Length-prefixed frames for IPMS's own protocols (/ipms/sync, /ipms/deliver): an unsigned-varint
 * length then the bytes, capped before anything is read into memory (PROTOCOL §10, §12).
 *
 * A frame whose length is over the cap is refused with a `TooLargeError` as soon as its prefix is
 * read, and `admit`, when given, sees every length first: it may refuse the frame (throw a typed
 * error) or reserve memory for it, before one byte of its body is read.
 *
 * Watch for: lpStream treats a RangeError from the length decoder as "read one more byte" and
 * checks the length only once a varint ends, which a prefix of 0xff bytes never does; so a
 * prefix that runs past 4 bytes (more than any IPMS frame needs) is refused here at once.
 * The read buffer holds one whole frame of `maxBytes`: a stream whose first frame must be small
 * (a sync hello) is read with a small `frames` first, then `unwrap()`ped into a larger one.
 */
import { lpStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { MalformedError, TooLargeError } from '../errors.ts'

export type Frames = ReturnType<typeof lpStream>

export interface FrameOptions {
  /** Called with each frame's length before its body is read; throws to refuse the frame. */
  admit?: (length: number) => void
}

/** Frames of at most `maxBytes`, with a read buffer that holds one whole frame. */
export function frames (stream: Stream, maxBytes: number, options: FrameOptions = {}): Frames {
  const decodeFrameLength = (data: { byteLength: number, get: (index: number) => number }): number => {
    let value = 0
    for (let i = 0; i < data.byteLength && i < 4; i++) {
      const byte = data.get(i)
      value += (byte & 0x7f) * 2 ** (7 * i)
      if (byte < 0x80) {
        if (value > maxBytes) throw new TooLargeError(`The peer announced a frame of ${value} bytes, over the limit of ${maxBytes} bytes; it is refused unread`)
        options.admit?.(value)
        return value
      }
    }
    if (data.byteLength >= 4) throw new MalformedError('the peer sent a frame length prefix longer than any frame needs')
    throw new RangeError('incomplete varint')
  }
  return lpStream(stream, { maxDataLength: maxBytes, maxBufferSize: maxBytes + 16, lengthDecoder: decodeFrameLength })
}
