/**
 * Leftovers after kills (src/util/temp-files.ts, issue #11.7): temp files named with their
 * writer's pid; at open, the mail store and the Maildir remove those of dead writers and any older
 * than 36 hours, and leave those of live writers and every real file.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openMailStore } from '../../src/mail/mail-store.ts'
import { removeStaleTemps, STALE_TEMP_MS, tempName } from '../../src/util/temp-files.ts'

let root: string
let live: ChildProcess
let deadPid: number
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ipms-temp-files-'))
  live = spawn(process.execPath, ['-e', 'process.stdin.resume()'], { stdio: ['pipe', 'ignore', 'ignore'] })
  await once(live, 'spawn')
  const dead = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await once(dead, 'exit')
  deadPid = dead.pid!
})
after(async () => {
  live.kill()
  await rm(root, { recursive: true, force: true })
})

const hex = 'a1b2c3d4e5f6'
const old = async (path: string): Promise<void> => {
  const then = (Date.now() - STALE_TEMP_MS - 60_000) / 1000
  await utimes(path, then, then)
}
/** Files left in `dir`: a dead writer's temp, an old temp (live writer), a live writer's fresh temp, an old pid-less temp, a real file. */
async function leaveFiles (dir: string, real: string): Promise<void> {
  await mkdir(dir, { recursive: true })
  const files = {
    dead: `.${real}.${deadPid}.${hex}.tmp`,
    oldLive: `.other.${live.pid!}.${hex}.tmp`,
    live: `.fresh.${live.pid!}.${hex}.tmp`,
    oldNoPid: `.${real}.${hex}.tmp`,
    freshNoPid: `.young.${hex}.tmp`,
    real
  }
  for (const name of Object.values(files)) await writeFile(join(dir, name), 'x')
  await old(join(dir, files.oldLive))
  await old(join(dir, files.oldNoPid))
  await old(join(dir, real)) // an old real file is mail: never touched
}

test('tempName carries this process\'s pid', () => {
  assert.match(tempName('a.cbor'), new RegExp(`^\\.a\\.cbor\\.${process.pid}\\.[0-9a-f]{12}\\.tmp$`))
})

test('removeStaleTemps: dead writer or older than 36 h goes; a live writer\'s fresh temp and real files stay; a missing directory is nothing', async () => {
  const dir = join(root, 'plain')
  await leaveFiles(dir, 'zdpuKeep.cbor')
  const removed = await removeStaleTemps(dir)
  assert.deepEqual(removed.sort(), [`.other.${live.pid!}.${hex}.tmp`, `.zdpuKeep.cbor.${deadPid}.${hex}.tmp`, `.zdpuKeep.cbor.${hex}.tmp`].sort())
  assert.deepEqual((await readdir(dir)).sort(), [`.fresh.${live.pid!}.${hex}.tmp`, `.young.${hex}.tmp`, 'zdpuKeep.cbor'].sort())
  assert.deepEqual(await removeStaleTemps(join(root, 'nowhere')), [])
  // This process's own temps are never judged by pid (a write may be under way).
  await writeFile(join(dir, tempName('mine')), 'x')
  assert.deepEqual(await removeStaleTemps(dir), [])
})

test('opening the mail store cleans mail/received, mail/quarantine and Maildir/tmp (where any file older than 36 h goes)', async () => {
  const home = join(root, 'home')
  await leaveFiles(join(home, 'mail', 'received'), 'zdpuR.cbor')
  await leaveFiles(join(home, 'mail', 'quarantine'), 'zdpuQ.cbor')
  await leaveFiles(join(home, 'Maildir', 'tmp'), '1764000000.zdpuM.host')
  await mkdir(join(home, 'Maildir', 'new'))
  await mkdir(join(home, 'Maildir', 'cur'))
  await writeFile(join(home, 'mail', 'received', 'zdpuR.cbor'), new Uint8Array([0xa0])) // an empty map: a readable file
  const store = openMailStore(home)
  await store.received() // the first use, whatever it is, cleans the store's directories
  const kept = (real: string): string[] => [`.fresh.${live.pid!}.${hex}.tmp`, `.young.${hex}.tmp`, real].sort()
  assert.deepEqual((await readdir(join(home, 'mail', 'received'))).sort(), kept('zdpuR.cbor'))
  assert.deepEqual((await readdir(join(home, 'mail', 'quarantine'))).sort(), kept('zdpuQ.cbor'))
  // The Maildir is cleaned when it is first written to.
  await store.saveQuarantined('zdpuQ2', 'bafy', new Uint8Array(1), 'ERR_MALFORMED', 'test')
  const mail = { v: 1 as const, from: 'a', to: 'b', date: 0, id: 'x', subject: '', body: 'hi', attachments: [], sig: new Uint8Array(64) }
  await store.saveReceived('zdpuNew', 'bafy', mail)
  assert.deepEqual((await readdir(join(home, 'Maildir', 'tmp'))).sort(), [`.fresh.${live.pid!}.${hex}.tmp`, `.young.${hex}.tmp`].sort(), 'the old complete message in tmp/ went too (Maildir convention)')
  assert.equal((await readdir(join(home, 'Maildir', 'new'))).length, 1)
})
