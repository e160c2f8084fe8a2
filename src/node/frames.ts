/**
 * Length-prefixed frames for IPMS's own protocols (/ipms/sync, /ipms/deliver): an unsigned-varint
 * length then the bytes, capped before anything is read into memory.
 *
 * Watch for: lpStream treats a RangeError from the length decoder as "read one more byte" and
 * checks the length only once a varint ends, which a prefix of 0xff bytes never does; so a
 * prefix that runs past 4 bytes (more than any IPMS frame needs) is refused here at once.
 */
import { lpStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { MalformedError } from '../errors.ts'

export type Frames = ReturnType<typeof lpStream>

function decodeFrameLength (data: { byteLength: number, get: (index: number) => number }): number {
  let value = 0
  for (let i = 0; i < data.byteLength && i < 4; i++) {
    const byte = data.get(i)
    value += (byte & 0x7f) * 2 ** (7 * i)
    if (byte < 0x80) return value
  }
  if (data.byteLength >= 4) throw new MalformedError('the peer sent a frame length prefix longer than any frame needs')
  throw new RangeError('incomplete varint')
}

/** Frames of at most `maxBytes`, with a read buffer that holds one whole frame. */
export function frames (stream: Stream, maxBytes: number): Frames {
  return lpStream(stream, { maxDataLength: maxBytes, maxBufferSize: maxBytes + 16, lengthDecoder: decodeFrameLength })
}
