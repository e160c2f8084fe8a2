/**
 * A ref'd handle that keeps the process alive while a piece of work runs (the CLI holds one for
 * the whole command: README, "Exit codes").
 *
 * Why: Node exits when nothing ref'd is left in its event loop, even with a promise still pending;
 * under a top-level await it then exits 13 ("unsettled top-level await"), which a script would read
 * as one of our exit codes. Work that waits only on unref'd handles (an idle worker pool, a timer a
 * library unref'd, a socket between two reads) can reach that state mid-command: holding one
 * ref'd timer makes the command end only when its work does.
 */

/** Longest delay a Node timer takes, ms: the interval never fires in practice. */
const FOREVER_MS = 2 ** 31 - 1

/** Hold the process alive until the returned function is called (idempotent). */
export function keepAlive (): () => void {
  const timer = setInterval(() => {}, FOREVER_MS)
  return () => { clearInterval(timer) }
}
