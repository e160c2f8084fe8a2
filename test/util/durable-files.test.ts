/**
 * Durable small files: a set read back while another process removes some of them lists what is
 * left, without failing (issue #11, defect 5).
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { readCborFiles, writeFileSynced } from '../../src/util/durable-files.ts'

let root: string
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-durable-files-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

test('readCborFiles: a file gone between the listing and its reading is skipped, the others are read', async () => {
  const directory = join(root, 'set')
  await writeFileSynced(directory, 'a.cbor', dagCbor.encode({ n: 1 }))
  await writeFileSynced(directory, 'b.cbor', dagCbor.encode({ n: 2 }))
  // A name that readdir lists but whose reading fails with ENOENT, as when another process removes
  // the file in between (a dangling symlink makes that moment deterministic).
  await symlink(join(directory, 'removed-meanwhile'), join(directory, 'c.cbor'))
  const values = await readCborFiles<{ n: number }>(directory)
  assert.deepEqual(values.map(v => v.n).sort(), [1, 2])
  assert.deepEqual(await readCborFiles(join(root, 'no-such-directory')), [])
})

test('readCborFiles: any other failure still throws (a damaged file is not silently dropped)', async () => {
  const directory = join(root, 'damaged')
  await writeFileSynced(directory, 'bad.cbor', new Uint8Array([0xff, 0x00]))
  await assert.rejects(readCborFiles(directory))
})
