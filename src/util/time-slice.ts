/**
 * Long synchronous work in slices: `await slice()` between items gives the event loop a turn once
 * `sliceMs` of work have passed since the last one, so that loading thousands of records never
 * holds up deliveries (issue #13: the longest event-loop block < 50 ms).
 *
 * ```ts
 * const slice = timeSlicer()
 * for (const item of items) { await slice(signal); work(item) }
 * ```
 */
import { setImmediate as nextTurn } from 'node:timers/promises'

/** Default work between two turns of the event loop, ms. */
export const DEFAULT_SLICE_MS = 10

export function timeSlicer (sliceMs = DEFAULT_SLICE_MS): (signal?: AbortSignal) => Promise<void> {
  let since = performance.now()
  return async signal => {
    if (performance.now() - since < sliceMs) return
    await nextTurn()
    signal?.throwIfAborted()
    since = performance.now()
  }
}
