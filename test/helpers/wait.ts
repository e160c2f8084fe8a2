/**
 * Waiting for a condition without sleeping: check it now and after each event of some sources
 * (Node EventEmitters or DOM EventTargets, e.g. libp2p), until it holds or the signal aborts.
 * Shared by the tests and the benchmarks.
 */
import type { EventEmitter } from 'node:events'

export type Source = EventEmitter | EventTarget

const listen = (source: Source, event: string, fn: () => void): () => void => {
  if ('on' in source && typeof source.on === 'function') {
    source.on(event, fn)
    return () => { source.off(event, fn) }
  }
  (source as EventTarget).addEventListener(event, fn)
  return () => { (source as EventTarget).removeEventListener(event, fn) }
}

/**
 * Resolve when `check()` holds: checked now and after each of `events` (checks never overlap; an
 * event during a check schedules one more). Rejects when `signal` aborts first.
 */
export async function waitFor (events: Array<[Source, string]>, check: () => boolean | Promise<boolean>, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const offs: Array<() => void> = []
    let checking = false
    let again = false
    let done = false
    const finish = (err?: unknown): void => {
      if (done) return
      done = true
      for (const off of offs) off()
      signal.removeEventListener('abort', onAbort)
      if (err === undefined) resolve(); else reject(err)
    }
    const onAbort = (): void => { finish(signal.reason) }
    const onEvent = (): void => {
      if (checking) { again = true; return }
      checking = true
      void (async () => {
        try {
          do {
            again = false
            if (await check()) { finish(); return }
          } while (again && !done)
        } catch (err) {
          finish(err)
        } finally {
          checking = false
        }
      })()
    }
    if (signal.aborted) { onAbort(); return }
    signal.addEventListener('abort', onAbort, { once: true })
    for (const [source, event] of events) offs.push(listen(source, event, onEvent))
    onEvent()
  })
}
