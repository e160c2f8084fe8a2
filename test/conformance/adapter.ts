/**
 * This implementation's conformance adapter (docs/PROTOCOL.md §7.1): reads one request per line
 * on stdin, `{ "id", "op", "input" }`, and writes one answer per line on stdout, `{ "id",
 * "output" }`, `{ "id", "error": "<code>" }` or `{ "id", "unsupported": true }`, in order.
 * `--reference` answers with the independent reference instead of src/.
 *
 *   npx node test/conformance/adapter.ts < requests.ndjson
 */
import { createInterface } from 'node:readline'
import { answer, OPERATIONS, type Operations } from './json.ts'
import { referenceOperations } from './ops-reference.ts'
import { srcOperations } from './ops-src.ts'

const ops: Operations = process.argv.includes('--reference') ? referenceOperations : srcOperations

for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (line.trim() === '') continue
  const { id, op, input } = JSON.parse(line) as { id: unknown, op: string, input: Record<string, unknown> }
  const known = (OPERATIONS as readonly string[]).includes(op)
  process.stdout.write(JSON.stringify(known ? { id, ...await answer(ops, op, input) } : { id, unsupported: true }) + '\n')
}
