/**
 * A real small filesystem for full-disk tests: a tmpfs of a few MiB mounted on a temporary
 * directory (`mount -t tmpfs`, which needs root, as in this project's CI containers), filled up to
 * the last byte by a filler file and freed again.
 *
 * ```ts
 * await withSmallDisk(32, async (disk) => {
 *   … a home under disk.path …
 *   await disk.fill()     // every write on it now fails with ENOSPC (fill(n): n bytes left)
 *   await disk.free()     // space is back
 * })                      // unmounted and removed, even when the test fails
 * ```
 */
import { execFile } from 'node:child_process'
import { open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { makeTempHome } from './nodes.ts'

const run = promisify(execFile)

export interface SmallDisk {
  /** The mount point. */
  path: string
  /** Write a filler file until the filesystem refuses a single byte more, then give back `leave` bytes (default 0). */
  fill: (leave?: number) => Promise<void>
  /** Remove the filler file. */
  free: () => Promise<void>
}

export async function withSmallDisk<T> (sizeMiB: number, use: (disk: SmallDisk) => Promise<T>): Promise<T> {
  const path = await makeTempHome('ipms-small-disk-')
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', path])
  } catch (err) {
    await rm(path, { recursive: true, force: true })
    throw new Error(`A full-disk test mounts a ${sizeMiB} MiB tmpfs and could not (it needs root): ${(err as Error).message}`)
  }
  const filler = join(path, 'filler')
  const disk: SmallDisk = {
    path,
    fill: async (leave = 0) => {
      const file = await open(filler, 'a')
      try {
        // Big chunks, then smaller ones, down to one byte: nothing is left.
        for (let chunk = 1 << 20; chunk >= 1; chunk >>= 2) {
          const bytes = Buffer.alloc(chunk, 0x55)
          for (;;) {
            try { await file.write(bytes) } catch (err) {
              if ((err as { code?: string }).code !== 'ENOSPC') throw err
              break
            }
          }
        }
        if (leave > 0) await file.truncate(Math.max(0, (await file.stat()).size - leave))
      } finally {
        await file.close()
      }
    },
    free: async () => { await rm(filler, { force: true }) }
  }
  try {
    return await use(disk)
  } finally {
    // Lazy: a store a failed test left open must not keep the mount (and the directory) behind.
    await run('umount', ['-l', path]).catch(() => {})
    await rm(path, { recursive: true, force: true })
  }
}
