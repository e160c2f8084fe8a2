/**
 * Moves a home of the former layout into the inbox store (inbox-store.ts), once, at the node's
 * start, before OrbitDB opens any inbox (docs/ARCHITECTURE.md, stores).
 *
 * Former layout: each inbox in three LevelDBs of its own, under OrbitDB's directory
 *   <home>/orbitdb/orbitdb/<id>/log/_heads   → !<id>!!heads!…
 *   <home>/orbitdb/orbitdb/<id>/log/_index   → !<id>!!index!…
 *   <home>/orbitdb/orbitdb/<id>/_mailbox     → !<id>!!mailbox!…
 * (blocks and pins were already one LevelDB per home each, and stay where they are). A directory
 * there without `_mailbox` is another OrbitDB database in OrbitDB's own layout: left alone.
 *
 * Per inbox: every record copied as it is (same keys under the inbox's prefix, same value bytes),
 * in batches without sync; then the marker `!<id>!!meta!migrated` in a synced batch, which makes
 * the copies before it durable too (LevelDB's log is sequential); then the inbox's old directory
 * is removed. A crash before the marker leaves the old LevelDBs the source of truth: the next
 * start copies again (the same records). A crash after it: the next start sees the marker and
 * only removes the old directory. A home with no old directory costs one `readdir`.
 *
 * Watch for: never run it while a node runs on the home (createNode holds the home lock; `ipms
 * host rm` takes it). Going back to a version of the former layout after this is not supported.
 */
import { readdir, rm, rmdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Level } from 'level'
import type { InboxStore, KeyOp, KeySpace } from './inbox-store.ts'
import type { WriteOptions } from '../storage-health.ts'

/** Where OrbitDB kept each inbox's LevelDBs, under its directory (`<home>/orbitdb`): `orbitdb/<id>`. */
export const LEGACY_INBOXES_DIR = 'orbitdb'

/** Records per batch while copying. */
const COPY_BATCH = 1000

/** The former LevelDBs of an inbox, and the key space each goes into. */
const PARTS = [
  { path: ['log', '_heads'], space: 'heads', encoding: 'view' },
  { path: ['log', '_index'], space: 'index', encoding: 'view' },
  { path: ['_mailbox'], space: 'mailbox', encoding: 'utf8' }
] as const

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT'

async function exists (path: string): Promise<boolean> {
  try {
    await readdir(path)
    return true
  } catch (err) {
    if (isMissing(err)) return false
    throw err
  }
}

/** Copy every record of the LevelDB at `path` (if there is one) into `space`. */
async function copyLevel (path: string, space: KeySpace<any>, encoding: 'view' | 'utf8'): Promise<number> {
  if (!await exists(path)) return 0
  const old = new Level<string, any>(path, { valueEncoding: encoding })
  await old.open({ createIfMissing: false })
  let copied = 0
  try {
    let ops: Array<KeyOp<unknown>> = []
    for await (const [key, value] of old.iterator()) {
      ops.push({ type: 'put', key, value })
      if (ops.length >= COPY_BATCH) { await space.batch(ops); copied += ops.length; ops = [] }
    }
    await space.batch(ops)
    copied += ops.length
  } finally {
    await old.close()
  }
  return copied
}

/**
 * Move every inbox found under `<orbitdbDir>/orbitdb/` into `store`; the addresses moved (none on
 * a home of the current layout). `durable`: the marker's write options (`sync: true`).
 */
export async function migrateInboxes (orbitdbDir: string, store: InboxStore, durable: WriteOptions): Promise<string[]> {
  const root = join(orbitdbDir, LEGACY_INBOXES_DIR)
  let names: string[]
  try {
    names = await readdir(root)
  } catch (err) {
    if (isMissing(err)) return []
    throw err
  }
  const moved: string[] = []
  for (const id of names.filter(name => /^zdpu[1-9A-HJ-NP-Za-km-z]+$/.test(name)).sort()) {
    const address = `/orbitdb/${id}`
    const spaces = store.spaces(address)
    // Other OrbitDB databases of the process keep OrbitDB's own layout here: only an IPMS inbox
    // has a mailbox index (or, once moved, its marker).
    const moving = await spaces.meta.get('migrated') === undefined
    if (moving && !await exists(join(root, id, '_mailbox'))) continue
    if (moving) {
      for (const part of PARTS) await copyLevel(join(root, id, ...part.path), spaces[part.space], part.encoding)
      await spaces.meta.batch([{ type: 'put', key: 'migrated', value: new Date().toISOString() }], durable)
      moved.push(address)
    }
    await rm(join(root, id), { recursive: true, force: true })
  }
  // Only when nothing else is left in it.
  await rmdir(root).catch(() => {})
  return moved
}
