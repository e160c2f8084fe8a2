/**
 * A serial queue: functions run one at a time, in the order they were given, whatever happened to
 * the one before (a failure rejects its own caller only). The daemon's background steps, the
 * `--on-mail` hook runs, and a mailbox's index updates and its log writes go through one each.
 *
 * ```ts
 * const queue = serialQueue()
 * const result = await queue.run(async () => await step())   // waits for the steps queued before
 * await queue.idle()                                          // nothing queued or running
 * ```
 */

export interface SerialQueue {
  /** Run `fn` after everything queued before it; resolves or rejects with its outcome. */
  run: <T>(fn: () => Promise<T>) => Promise<T>
  /** Resolves once everything queued so far has settled (never rejects). */
  idle: () => Promise<void>
}

export function serialQueue (): SerialQueue {
  let tail: Promise<unknown> = Promise.resolve()
  return {
    run: async <T>(fn: () => Promise<T>): Promise<T> => {
      const result = tail.then(fn)
      tail = result.catch(() => {})
      return await result
    },
    idle: async () => {
      // A step queued while waiting moves the tail: wait until it stays put.
      let seen: Promise<unknown>
      do {
        seen = tail
        await seen
      } while (seen !== tail)
    }
  }
}
