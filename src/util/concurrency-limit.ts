/**
 * At most N functions running at once; the others wait their turn, in order. The daemon's sends go
 * through one: a host takes 4 handshakes at once from one address (docs/PROTOCOL.md, connection
 * limits), and proof-of-work gains nothing from more solves at once than cores.
 *
 * ```ts
 * const sends = concurrencyLimit(4)
 * const result = await sends.run(async () => await send(), { signal })   // waits for a free slot
 * ```
 */
import { AbortError } from '../errors.ts'

export interface ConcurrencyLimit {
  /** Run `fn` once fewer than the limit are running; AbortError if `signal` aborts while it waits. */
  run: <T>(fn: () => Promise<T>, options?: { signal?: AbortSignal }) => Promise<T>
}

export function concurrencyLimit (limit: number): ConcurrencyLimit {
  let running = 0
  const waiting: Array<() => void> = []
  const release = (): void => {
    running--
    waiting.shift()?.()
  }
  return {
    run: async (fn, options = {}) => {
      const { signal } = options
      if (running >= limit) {
        await new Promise<void>((resolve, reject) => {
          const onAbort = (): void => {
            waiting.splice(waiting.indexOf(go), 1)
            reject(new AbortError('Cancelled while waiting for a free slot'))
          }
          const go = (): void => { signal?.removeEventListener('abort', onAbort); resolve() }
          signal?.throwIfAborted()
          signal?.addEventListener('abort', onAbort, { once: true })
          waiting.push(go)
        })
      }
      running++
      try {
        return await fn()
      } finally {
        release()
      }
    }
  }
}
