/**
 * Whether a process id names a live process on this machine: how the home lock (node/home-lock.ts),
 * daemon.json (cli/daemon-file.ts) and stale temp files (util/temp-files.ts) tell a writer that
 * died from one still at work.
 *
 * Watch for: a pid can be reused by an unrelated process, so "alive" may be a false positive
 * (callers fall back on something else: a lock's message, a temp file's age); "dead" is certain.
 */

/** True when `pid` is a live process (EPERM: it exists but belongs to another user). Never throws. */
export function isProcessAlive (pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as { code?: unknown } | null)?.code === 'EPERM'
  }
}
