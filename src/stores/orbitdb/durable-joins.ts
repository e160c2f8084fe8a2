/**
 * When the writes of joined entries are on disk (docs/PROTOCOL.md §12.1), for a receipt that names
 * one: a replay of an envelope whose entry came from a co-host over /ipms/sync.
 *
 * OrbitDB's `joinEntry` writes the entry blocks, pins, `log/_index` and `log/_heads` without
 * `sync`, and a sync session pays no fdatasync for them: most joined entries are never receipted
 * here. A host answering a replay with a joined entry first waits for `durable()`: when joins have
 * ended since the last synced write of every LevelDB they touch, it runs `flush` (one synced write
 * per LevelDB, shared by every replay waiting meanwhile). A synced append of the same inbox (a log
 * writer commit) covers the joins that ended before it too (`covering`), so on a host that also
 * takes deliveries a replay rarely flushes at all.
 *
 * Watch for: what a replica holds at open may have been joined, then the process stopped cleanly
 * before any synced write (the OS had it, the disk maybe not): the first wait after open flushes.
 */

export interface DurableJoins {
  /** A join's writes have ended (call after each `joinEntry` that joined). */
  joined: () => void
  /** Run a write that syncs every LevelDB a join writes (an append); it covers the joins ended before it. */
  covering: <T>(write: () => Promise<T>) => Promise<T>
  /** Resolves once every join ended so far is on disk: at once, or after a (shared) flush. */
  durable: () => Promise<void>
}

/**
 * `flush` makes durable every write made before it started into the LevelDBs joins write;
 * `enabled` false (durability off, the benchmarks' baseline) makes `durable` resolve at once.
 */
export function durableJoins (flush: () => Promise<void>, enabled = true): DurableJoins {
  /** Joins ended (1 at open: what is on disk may not have been synced), and how many are durable. */
  let ended = 1
  let flushed = 0
  let running: Promise<void> | undefined

  const flushOnce = async (): Promise<void> => {
    running ??= (async () => {
      const target = ended
      try {
        await flush()
        flushed = Math.max(flushed, target)
      } finally {
        running = undefined
      }
    })()
    await running
  }

  return {
    joined: () => { ended++ },
    covering: async (write) => {
      const target = ended
      const result = await write()
      flushed = Math.max(flushed, target)
      return result
    },
    durable: async () => {
      if (!enabled) return
      // A flush that began before the joins this caller needs covers only some: then one more.
      const needed = ended
      while (flushed < needed) await flushOnce()
    }
  }
}
