/**
 * Small files that must survive a crash: written whole or not at all, and readable back as a set.
 * Shared by the owner's mail store and the sender's outbox.
 *
 * Watch for: `writeFileSynced` makes the data durable and the rename atomic; the rename itself is
 * durable only after `syncDirectory` (one call can cover a whole batch of files).
 */
import { mkdir, open, readdir, readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { tempName } from './temp-files.ts'

/** Write `bytes` to `directory/name` (created 0700) through a temp file: write, fsync, rename. */
export async function writeFileSynced (directory: string, name: string, bytes: Uint8Array): Promise<void> {
  await rename(await writeTempSynced(directory, name, bytes), join(directory, name))
}

/**
 * Write `bytes` to a new temp file for `name` in `directory` (created 0700), fsync'd; resolves
 * with its path, for the caller to rename (temp-files.ts names it and cleans up after kills).
 */
export async function writeTempSynced (directory: string, name: string, bytes: Uint8Array): Promise<string> {
  await mkdir(directory, { recursive: true, mode: 0o700 })
  const temp = join(directory, tempName(name))
  const file = await open(temp, 'wx', 0o600)
  try {
    await file.writeFile(bytes)
    await file.sync()
  } finally {
    await file.close()
  }
  return temp
}

/** fsync a directory, so that the renames into it survive a crash. */
export async function syncDirectory (directory: string): Promise<void> {
  const dir = await open(directory, 'r')
  try { await dir.sync() } finally { await dir.close() }
}

/**
 * Every `*.cbor` file of `directory` decoded (temp files skipped); none when it does not exist. A
 * file removed by another process between the listing and its reading is simply gone, not an error.
 */
export async function readCborFiles<T> (directory: string): Promise<T[]> {
  let names: string[]
  try {
    names = (await readdir(directory)).filter(n => n.endsWith('.cbor') && !n.startsWith('.'))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  const values = await Promise.all(names.map(async n => await readCborFile<T>(join(directory, n))))
  return values.filter(v => v !== undefined)
}

/** One dag-cbor file decoded, or undefined when it does not exist (any other failure throws). */
export async function readCborFile<T> (path: string): Promise<T | undefined> {
  const bytes = await readIfExists(path)
  if (bytes === undefined) return undefined
  // Imported here: the JSON files' readers (every CLI run through the daemon) need no CBOR decoder.
  const dagCbor = await import('@ipld/dag-cbor')
  return dagCbor.decode(bytes) as T
}

/** A file's bytes, or undefined when it does not exist (any other failure throws). */
async function readIfExists (path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** Write a JSON document durably and atomically (temp file, fsync, rename, fsync of the directory). */
export async function writeJsonSynced (directory: string, name: string, value: unknown): Promise<void> {
  await writeFileSynced(directory, name, new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`))
  await syncDirectory(directory)
}

/** A JSON document, or undefined when the file does not exist (any other failure throws). */
export async function readJsonFile (path: string): Promise<unknown> {
  const bytes = await readIfExists(path)
  return bytes === undefined ? undefined : JSON.parse(bytes.toString('utf8'))
}
