/**
 * Long operations of the local API as NDJSON (docs/API.md, "Streams"): `application/x-ndjson`, one
 * JSON object a line — `{ progress: { stage, … } }` while the work goes on, then exactly one final
 * line, `{ ok: true, … }` or `{ ok: false, error: { code, message } }`. The status is 200 once the
 * stream has begun: the final line carries the outcome.
 *
 * Watch out for: a client that reads slowly is waited for (`drain`), and one that went away
 * aborts the stream's signal, so that the work it asked for is cut short.
 */
import type { ServerResponse } from 'node:http'
import { jsonLine } from './respond.ts'

export interface NdjsonStream {
  /** One progress line (dropped when the client is too slow: progress is only a hint). */
  progress: (progress: { stage: string } & Record<string, unknown>) => void
  /** The final line, then the end of the answer. */
  end: (final: Record<string, unknown>) => Promise<void>
}

export function ndjsonStream (res: ServerResponse): NdjsonStream {
  res.writeHead(200, { 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' })
  res.flushHeaders()
  return {
    progress: (progress) => {
      if (res.writableEnded || res.writableNeedDrain) return
      res.write(jsonLine({ progress }))
    },
    end: async (final) => {
      if (res.writableEnded) return
      await new Promise<void>(resolve => { res.end(jsonLine(final), resolve) })
    }
  }
}
