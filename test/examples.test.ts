/** The example the README points to runs as a real child process and does what it says. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

test('examples/seal-and-open.ts seals, stamps and opens a mail, and exits by itself', async () => {
  const script = new URL('../examples/seal-and-open.ts', import.meta.url)
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [script.pathname], { timeout: 60_000 })
  assert.match(stdout, /^alice is 12D3KooW\w+$/m)
  assert.match(stdout, /^sealed 1120 bytes as bafy\w+$/m)
  assert.match(stdout, /proof-of-work at 16 bits: [0-9a-f]{16} \(valid: true\)/)
  assert.match(stdout, /bob reads "Lunch\?" from alice \(signature verified\)/)
  assert.equal(stderr, '')
})

test('examples/inbox.ts: mail left on a host is read by the owner, and the host forgets it; the process exits by itself', async () => {
  const script = new URL('../examples/inbox.ts', import.meta.url)
  const { stdout } = await promisify(execFile)(process.execPath, [script.pathname], { timeout: 90_000 })
  assert.match(stdout, /^bob's inbox is \/orbitdb\/zdpu\w+ \(computed from his peer-id alone\)$/m)
  assert.match(stdout, /^the host holds 1 mail for bob$/m)
  assert.match(stdout, /^bob reads "Lunch\?" from alice \(signature verified\)$/m)
  assert.match(stdout, /^after the prune the host holds 0 mail and no longer the envelope$/m)
})
