/**
 * IPMS writes some of its dependencies' internal formats itself (docs/DESIGN.md §5): OrbitDB's heads and entry index (stores/orbitdb/log-writer.ts, level-storage.ts), Helia's pin
 * records (stores/orbitdb/block-writer.ts, the bytes of @helia/utils' pins.js), and LevelDB stores opened
 * beside theirs. A caret range would let `npm install` bring a version whose format differs: those
 * packages are pinned to exact versions, and the installed ones are those versions.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string>, overrides?: Record<string, string> }
/** The packages whose formats IPMS writes, and where package.json pins each. */
const PINNED: Array<[string, 'dependencies' | 'overrides']> = [
  ['@orbitdb/core', 'dependencies'],
  ['helia', 'dependencies'],
  ['@helia/utils', 'overrides'],
  ['blockstore-level', 'dependencies'],
  ['datastore-level', 'dependencies'],
  ['level', 'dependencies']
]

test('the packages whose internal formats IPMS writes are pinned to exact versions, and installed at them', () => {
  for (const [name, where] of PINNED) {
    const spec = pkg[where]?.[name]
    assert.match(spec ?? '', /^\d+\.\d+\.\d+$/, `${name} in package.json "${where}" must be an exact version, not ${String(spec)}`)
    // Read from node_modules directly: some packages do not export their package.json.
    const installed = (JSON.parse(readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version
    assert.equal(installed, spec, `${name}: installed ${installed}, pinned ${String(spec)}`)
  }
})
