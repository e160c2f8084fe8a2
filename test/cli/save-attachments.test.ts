/**
 * `ipms read --save DIR` (src/cli/save-attachments.ts): hostile attachment names never leave DIR,
 * never overwrite, never follow a symlink, and are written as plain, visible names.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileNameFor, saveAttachments } from '../../src/cli/save-attachments.ts'

let root: string
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-save-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

const attachment = (name: string, text = name): { name: string, type: string, data: Uint8Array } => ({ name, type: 'text/plain', data: new TextEncoder().encode(text) })

test('fileNameFor: separators, controls, C1, bidi and a leading dot become _; ordinary names unchanged', () => {
  assert.equal(fileNameFor('plan.txt'), 'plan.txt')
  assert.equal(fileNameFor('Grüße 👩‍💻.pdf'), 'Grüße 👩‍💻.pdf')
  assert.equal(fileNameFor('../../etc/passwd'), '_._.._etc_passwd')
  assert.equal(fileNameFor('..\\..\\x'), '_._.._x')
  assert.equal(fileNameFor('invoice\u202Efdp.exe'), 'invoice_fdp.exe')
  assert.equal(fileNameFor('a\x1b[31mb\u009bc\x7f'), 'a_[31mb_c_')
  assert.equal(fileNameFor('.profile'), '_profile')
  assert.equal(fileNameFor('..'), '_.')
  assert.equal(fileNameFor(''), 'attachment')
  assert.equal(fileNameFor('x\ud800'), 'x_')
})

test('hostile names (bypassing the mail format\'s own check) all land inside DIR, nothing outside is touched', async () => {
  const dir = join(root, 'hostile')
  const outside = join(root, 'outside.txt')
  const saved = await saveAttachments(dir, [attachment('../outside.txt'), attachment('/etc/x'), attachment('.bashrc'), attachment('..'), attachment('a\\b'), attachment('x'.repeat(400) + '.txt')])
  assert.equal(saved.length, 6)
  for (const path of saved) assert.equal(join(path, '..'), dir, `${path} is directly in ${dir}`)
  await assert.rejects(readFile(outside), { code: 'ENOENT' })
  const names = (await readdir(dir)).sort()
  assert.ok(names.every(n => !n.startsWith('.')), `no hidden file: ${names.join(', ')}`)
  assert.ok(names.every(n => Buffer.byteLength(n) <= 255))
})

test('never overwrites: an existing file or a second attachment of the same name gets a suffix; a symlink is not followed', async () => {
  const dir = join(root, 'existing')
  await mkdir(dir)
  await writeFile(join(dir, 'plan.txt'), 'mine')
  const target = join(root, 'target.txt')
  await writeFile(target, 'keep me')
  await symlink(target, join(dir, 'link.txt'))
  await symlink(join(root, 'dangling'), join(dir, 'dangling.txt'))
  const saved = await saveAttachments(dir, [attachment('plan.txt', 'one'), attachment('plan.txt', 'two'), attachment('link.txt', 'evil'), attachment('dangling.txt', 'evil')])
  assert.deepEqual(saved.map(p => p.slice(dir.length + 1)), ['plan-1.txt', 'plan-2.txt', 'link-1.txt', 'dangling-1.txt'])
  assert.equal(await readFile(join(dir, 'plan.txt'), 'utf8'), 'mine')
  assert.equal(await readFile(join(dir, 'plan-2.txt'), 'utf8'), 'two')
  assert.equal(await readFile(target, 'utf8'), 'keep me')
  await assert.rejects(readFile(join(root, 'dangling')), { code: 'ENOENT' })
})
