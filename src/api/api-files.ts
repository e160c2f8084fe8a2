/**
 * The files that tell local programs where the daemon's API is and let them in (docs/API.md,
 * "Finding the daemon"): `<home>/api`, JSON `{ v: 1, socket, pid, tcp? }` (kubo's
 * `$IPFS_PATH/api`), and `<home>/api.cookie`, 64 hex characters of 32 random bytes, new at every
 * start (bitcoind's `.cookie`). Both 0600, written atomically and durably; removed at a clean stop.
 *
 * Watch out for: the cookie is written before `api`, so that a client that finds `api` finds the
 * cookie of the same start; both are removed `api` first, for the same reason.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'

/** Every route is under this prefix (the server's and the client's). */
export const API_PREFIX = '/api/v1'

export const API_FILE_NAME = 'api'
export const API_COOKIE_FILE_NAME = 'api.cookie'
export const API_SOCKET_FILE_NAME = 'api.sock'

// Loaded when files are written or removed: a client that only reads them (every CLI run through
// the daemon) does without.
const durableFiles = async (): Promise<typeof import('../util/durable-files.ts')> => await import('../util/durable-files.ts')

/** What `<home>/api` says. */
export interface ApiInfo {
  v: 1
  /** The absolute path of the Unix socket. */
  socket: string
  /** The daemon's process. */
  pid: number
  /** `http://127.0.0.1:PORT` when the TCP listener is on (config `apiListen`). */
  tcp?: string
}

/**
 * A new cookie: 32 random bytes as 64 lowercase hex characters. Web Crypto's global, not
 * node:crypto: clients import this file too, and node:crypto costs a CLI run ~5 ms to load.
 */
export const newCookie = (): string => Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(32))).toString('hex')

/** Write `api.cookie`, then `api` (each 0600, atomic, fsync'd). */
export async function writeApiFiles (home: string, info: ApiInfo, cookie: string): Promise<void> {
  const { writeFileSynced, writeJsonSynced } = await durableFiles()
  await writeFileSynced(home, API_COOKIE_FILE_NAME, new TextEncoder().encode(cookie))
  await writeJsonSynced(home, API_FILE_NAME, info)
}

/** Remove `api`, `api.cookie` and the socket file; what is already gone is fine. */
export async function removeApiFiles (home: string): Promise<void> {
  for (const name of [API_FILE_NAME, API_COOKIE_FILE_NAME, API_SOCKET_FILE_NAME]) await rm(join(home, name), { force: true })
  await (await durableFiles()).syncDirectory(home)
}
