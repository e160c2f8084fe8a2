/**
 * `<home>/daemon.json`: a running daemon's pid and listen addresses, so that `ipms id` can show
 * where the node is reachable. Written at start, removed at stop; a stale file (its process gone)
 * is ignored.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { readJsonFile, writeJsonSynced } from '../util/durable-files.ts'
import { isProcessAlive } from '../util/process.ts'

const NAME = 'daemon.json'

export interface DaemonInfo { pid: number, started: number, addrs: string[] }

export async function writeDaemonInfo (home: string, info: DaemonInfo): Promise<void> {
  await writeJsonSynced(home, NAME, info)
}

export async function removeDaemonInfo (home: string): Promise<void> {
  await rm(join(home, NAME), { force: true })
}

/** The running daemon's info, or undefined when none runs. */
export async function readDaemonInfo (home: string): Promise<DaemonInfo | undefined> {
  const info = await readJsonFile(join(home, NAME)).catch(() => undefined) as DaemonInfo | undefined
  if (info === undefined || typeof info.pid !== 'number') return undefined
  return isProcessAlive(info.pid) ? info : undefined
}
