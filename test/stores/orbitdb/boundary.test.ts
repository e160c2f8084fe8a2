/**
 * The inbox port's boundary (stores/inbox.ts, docs/ARCHITECTURE.md): only `src/stores/orbitdb/`
 * knows OrbitDB and Helia. No other source file imports '@orbitdb/core' or a package of Helia's
 * stores (create-node.ts alone assembles Helia); the modules that use inboxes (sync, delivery,
 * the owner's read, the pool and leases, quotas, the daemon) import nothing from the adapter; the
 * port's own file has no `any`.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = join(import.meta.dirname, '..', '..', '..')
const src = join(root, 'src')
const ADAPTER = 'src/stores/orbitdb/'

function sources (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(d => d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [])
}

/** Every module specifier a file imports or re-exports (static and dynamic). */
function specifiers (text: string): string[] {
  return [...text.matchAll(/(?:^|\s)(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm)].map(m => m[1] ?? m[2] ?? m[3]!)
}

const files = sources(src).map(path => ({ path: relative(root, path), text: readFileSync(path, 'utf8') }))
const isHelia = (spec: string): boolean => spec === 'helia' || /^(@helia\/|blockstore-|datastore-|interface-blockstore|interface-datastore)/.test(spec)

test('no source file outside src/stores/orbitdb/ imports OrbitDB, nor Helia but the node\'s assembly', () => {
  assert.ok(files.length > 50 && files.some(f => f.path === 'src/node/sync.ts'), 'the sources were found')
  const found: string[] = []
  for (const { path, text } of files) {
    if (path.startsWith(ADAPTER)) continue
    for (const spec of specifiers(text)) {
      if (spec === '@orbitdb/core' || spec.startsWith('@orbitdb/')) found.push(`${path} imports ${spec}`)
      if (isHelia(spec) && path !== 'src/node/create-node.ts') found.push(`${path} imports ${spec}`)
    }
  }
  assert.deepEqual(found, [])
})

test('the modules that use inboxes see them through the port only; the port has no any', () => {
  const users = ['src/node/sync.ts', 'src/node/deliver.ts', 'src/node/read-inbox.ts', 'src/node/inbox-pool.ts', 'src/node/inbox-lease.ts', 'src/node/pass-quota.ts', 'src/daemon/daemon.ts']
  for (const user of users) {
    const file = files.find(f => f.path === user)
    assert.ok(file !== undefined, `${user} exists`)
    const adapter = specifiers(file.text).filter(spec => spec.includes('stores/orbitdb/'))
    assert.deepEqual(adapter, [], `${user} imports the OrbitDB adapter`)
    assert.ok(specifiers(file.text).some(spec => spec.endsWith('stores/inbox.ts')), `${user} imports the port`)
  }
  const port = files.find(f => f.path === 'src/stores/inbox.ts')!.text
  assert.doesNotMatch(port.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ''), /\bany\b/)
  assert.deepEqual(specifiers(port).filter(spec => spec.includes('orbitdb') || isHelia(spec)), [])
})
