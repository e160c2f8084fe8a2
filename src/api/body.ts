/**
 * Request bodies of the local API (docs/API.md, "Requests"): JSON only (`Content-Type:
 * application/json`), at most a route's limit — refused with ERR_TOO_LARGE (413) from its
 * `Content-Length` before reading, or as soon as more arrives than the limit; an empty body is
 * `{}`. The decoded value is a plain object; each route checks its own fields.
 */
import type { IncomingMessage } from 'node:http'
import { InvalidArgumentError, TooLargeError } from '../errors.ts'
import { isPlainMap } from '../util/fields.ts'

/** Bodies of most routes, bytes. */
export const MAX_BODY_BYTES = 64 * 1024
/** The body of POST /send (the mail and its attachments, base64), bytes. */
export const MAX_SEND_BODY_BYTES = 8 * 1024 * 1024

const tooLarge = (limit: number): TooLargeError => new TooLargeError(`The request body is over ${limit} bytes, the most this route takes`)

/** The body as a JSON object; TooLargeError over `limit`, InvalidArgumentError when it is not a JSON object. */
export async function readJsonBody (req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (!(declared <= limit)) throw tooLarge(limit)
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of req) {
    total += (chunk as Buffer).byteLength
    if (total > limit) throw tooLarge(limit)
    chunks.push(chunk as Buffer)
  }
  if (total === 0) return {}
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/json') throw new InvalidArgumentError('The request body must be JSON, sent with Content-Type: application/json')
  let value: unknown
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new InvalidArgumentError('The request body is not valid JSON')
  }
  if (!isPlainMap(value)) throw new InvalidArgumentError('The request body must be a JSON object')
  return value
}
