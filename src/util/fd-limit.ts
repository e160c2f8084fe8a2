/**
 * Running out of file descriptors, said plainly (issue #13): EMFILE / ENFILE from Node, or a
 * LevelDB that "failed to open" because its files could not be opened ("Too many open files" in
 * its status string, the only form LevelDB gives), becomes a TooManyFilesError that names the fix.
 */
import { readFileSync } from 'node:fs'
import { TooManyFilesError } from '../errors.ts'

/** True when `err` (or one of its causes) says the process or the system has no file descriptor left. */
export function isOutOfFiles (err: unknown): boolean {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof TooManyFilesError) return true
    const code = (e as { code?: unknown }).code
    if (code === 'EMFILE' || code === 'ENFILE') return true
    const message = (e as { message?: unknown }).message
    if (typeof message === 'string' && /Too many open files/i.test(message)) return true
  }
  return false
}

/** This process's limit on open files (`ulimit -n`), where the system says (Linux); undefined otherwise. Never throws. */
export function openFilesLimit (): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find(l => l.startsWith('Max open files'))
    const soft = Number(line?.split(/\s{2,}/)[1])
    return Number.isSafeInteger(soft) ? soft : undefined
  } catch {
    return undefined
  }
}

/** `err` as a TooManyFilesError when it is one of running out of descriptors (`doing`: what failed), else `err` itself. */
export function asTooManyFiles (err: unknown, doing: string): unknown {
  if (err instanceof TooManyFilesError || !isOutOfFiles(err)) return err
  const limit = openFilesLimit()
  return new TooManyFilesError(`Too many open files while ${doing}${limit === undefined ? '' : ` (this process may open ${limit})`}: raise \`ulimit -n\` (or LimitNOFILE= in a systemd unit) and start again`, { cause: err })
}
