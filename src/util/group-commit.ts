/**
 * Group commit: items submitted while a commit is running wait and are committed together in the
 * next one, as databases do with their write-ahead log. One commit runs at a time, in order.
 *
 * ```ts
 * const appends = groupCommit(async (payloads) => await writeAll(payloads))   // one result per item
 * const hash = await appends.submit(payload)
 * ```
 *
 * Why: a commit costs a few fixed waits (LevelDB writes through the thread pool) whatever it
 * holds, so under load the cost per item falls with the size of the group, and a lone item is
 * never held back (it starts at once when nothing is running).
 *
 * Watch for: `commit` returns one outcome per item, in order; an `Error` outcome rejects that
 * item only. A commit that throws rejects every item of its group, and the next group still runs.
 */

export interface GroupCommit<T, R> {
  /** Queue `item`; resolves with its outcome once the commit that holds it has returned. */
  submit: (item: T) => Promise<R>
  /** Resolves when nothing is queued or committing. */
  idle: () => Promise<void>
}

export interface GroupCommitOptions {
  /** Most items in one commit; the rest wait for the next. Default 64. */
  maxGroup?: number
}

interface Waiting<T, R> {
  item: T
  resolve: (value: R) => void
  reject: (reason: unknown) => void
}

export function groupCommit<T, R> (commit: (items: T[]) => Promise<Array<R | Error>>, options: GroupCommitOptions = {}): GroupCommit<T, R> {
  const maxGroup = options.maxGroup ?? 64
  let queue: Array<Waiting<T, R>> = []
  let running: Promise<void> | undefined

  const runGroup = async (group: Array<Waiting<T, R>>): Promise<void> => {
    try {
      const outcomes = await commit(group.map(w => w.item))
      group.forEach((w, i) => {
        const outcome = outcomes[i]
        if (outcome instanceof Error) w.reject(outcome)
        else w.resolve(outcome as R)
      })
    } catch (err) {
      for (const w of group) w.reject(err)
    }
  }

  const drain = async (): Promise<void> => {
    while (queue.length > 0) {
      const group = queue.slice(0, maxGroup)
      queue = queue.slice(group.length)
      await runGroup(group)
    }
    running = undefined
  }

  return {
    submit: async (item) => await new Promise<R>((resolve, reject) => {
      queue.push({ item, resolve, reject })
      running ??= drain()
    }),
    idle: async () => { while (running !== undefined) await running }
  }
}
