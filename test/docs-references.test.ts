/**
 * Every section a comment or a document cites ("PROTOCOL.md §9.3", "DESIGN §5, §6") is a
 * numbered heading of the file it names, and every bare "§n" inside docs/PROTOCOL.md and
 * docs/DESIGN.md is one of that file's own: a renumbered section cannot leave a citation behind.
 * And the error codes §8 lists are the ones the code has.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const DOCS = ['PROTOCOL', 'DESIGN', 'ARCHITECTURE', 'API'] as const

/** The numbers of a document's headings: "## 9. The inbox" → 9, "### 9.3 Rules" → 9.3. */
function sections (name: string): Set<string> {
  const text = readFileSync(join(root, 'docs', `${name}.md`), 'utf8')
  return new Set([...text.matchAll(/^#{1,4} (\d+(?:\.\d+)*)\.? /gm)].map(m => m[1]!))
}
const headings = Object.fromEntries(DOCS.map(name => [name, sections(name)])) as Record<typeof DOCS[number], Set<string>>

function files (dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) files(path, out)
    else if (/\.(ts|md|js|mjs)$/.test(name)) out.push(path)
  }
  return out
}

/** "§3, §5", "§9.3 and §10", "§§3–4" after a document's name: every number cited. */
const NAMED = /\b(PROTOCOL|DESIGN|ARCHITECTURE|API)(?:\.md)? (§\s?\d+(?:\.\d+)*(?:(?:,| and| or|, and)\s+§\s?\d+(?:\.\d+)*)*)/g
const numbers = (list: string): string[] => [...list.matchAll(/§\s?(\d+(?:\.\d+)*)/g)].map(m => m[1]!)

test('every named §n reference in src/, test/, docs/, bench/, examples/ and the README resolves to a numbered heading', () => {
  const dangling: string[] = []
  let count = 0
  const paths = [...['src', 'test', 'docs', 'bench', 'examples'].flatMap(d => files(join(root, d))), join(root, 'README.md')]
  for (const path of paths) {
    const text = readFileSync(path, 'utf8')
    for (const m of text.matchAll(NAMED)) {
      const doc = m[1] as typeof DOCS[number]
      for (const n of numbers(m[2]!)) {
        count++
        if (!headings[doc].has(n)) dangling.push(`${relative(root, path)}: ${doc} §${n}`)
      }
    }
  }
  assert.ok(count > 100, `only ${count} references found: the pattern no longer matches the way the code cites`)
  assert.deepEqual(dangling, [])
})

test('every bare §n inside PROTOCOL.md and DESIGN.md is a section of that file', () => {
  const dangling: string[] = []
  for (const doc of ['PROTOCOL', 'DESIGN'] as const) {
    const text = readFileSync(join(root, 'docs', `${doc}.md`), 'utf8')
    // Not an RFC's or a named document's section.
    for (const m of text.matchAll(/(RFC \d+ |(?:PROTOCOL|DESIGN|ARCHITECTURE|API)(?:\.md)?,? )?§\s?(\d+(?:\.\d+)*)/g)) {
      if (m[1] !== undefined) continue
      if (!headings[doc].has(m[2]!)) dangling.push(`${doc}.md: §${m[2]!}`)
    }
  }
  assert.deepEqual(dangling, [])
})

test('the error codes of PROTOCOL §8 are exactly the closed set of src/errors.ts', async () => {
  const { ERROR_CODES } = await import('../src/errors.ts')
  const spec = readFileSync(join(root, 'docs', 'PROTOCOL.md'), 'utf8')
  const section = spec.slice(spec.indexOf('## 8. '), spec.indexOf('## 9. '))
  const listed = new Set([...section.matchAll(/`((?:ERR|ABORT)_[A-Z_]+)`/g)].map(m => m[1]!))
  assert.deepEqual([...listed].sort(), [...ERROR_CODES].sort())
})
