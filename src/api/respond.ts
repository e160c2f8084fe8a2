/**
 * Answers of the local API (docs/API.md, "Answers"): `{ ok: true, … }` or `{ ok: false, error:
 * { code, message } }` with the status of the code (status.ts). JSON is written as the CLI's
 * `--json` writes it (bytes as base64, terminal controls escaped), so that a client can print
 * what it gets as it would print its own.
 */
import type { ServerResponse } from 'node:http'
import { toJson } from '../cli/output.ts'
import { IpmsError, type ErrorCode } from '../errors.ts'
import { httpStatusFor } from './status.ts'

/** One JSON document and a line feed. */
export const jsonLine = (value: unknown): string => `${toJson(value)}\n`

/** `{ ok: false, error }` for any failure: only IPMS's own errors keep their code and message (anything else is a bug, said without its details). */
export function errorBody (err: unknown): { ok: false, error: { code: ErrorCode, message: string } } {
  if (err instanceof IpmsError) return { ok: false, error: { code: err.code, message: err.message } }
  return { ok: false, error: { code: 'ERR_UNEXPECTED', message: 'The daemon failed unexpectedly: its output (an `error` event) says more' } }
}

const HEADERS = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' }

export function sendJson (res: ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
  if (res.headersSent) { res.end(); return }
  const text = jsonLine(body)
  res.writeHead(status, { ...HEADERS, ...headers, 'Content-Length': String(Buffer.byteLength(text)) })
  res.end(text)
}

/** The failure `err` with the status of its code. */
export function sendError (res: ServerResponse, err: unknown, headers?: Record<string, string>): void {
  const body = errorBody(err)
  sendJson(res, httpStatusFor(body.error.code), body, headers)
}
