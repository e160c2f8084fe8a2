/**
 * Node's compile cache for the CLI: V8's compiled code of every module loaded (and, for the
 * sources, their stripped TypeScript), kept between runs, so that a run through the daemon parses
 * little. bin.ts turns it on before it imports anything else.
 *
 * Watch for: V8 trusts compiled code from the cache, so the cache lives only in a directory this
 * user owns and nobody else may write (`<node_modules>/.cache/ipms`, as other tools keep theirs);
 * anything else, or any failure, and the CLI runs without a cache.
 */
import module from 'node:module'
import { basename, dirname, join } from 'node:path'
import { builtin } from '../util/builtin.ts'

const { mkdirSync, statSync } = builtin<typeof import('node:fs')>('node:fs')

/** `<node_modules>/.cache/ipms` for the package at `root`: its own node_modules in a checkout, else the one it is installed in. */
export function compileCacheDir (root: string): string {
  const parent = dirname(root)
  return join(basename(parent) === 'node_modules' ? parent : join(root, 'node_modules'), '.cache', 'ipms')
}

/** Turn the compile cache on in `dir` if this user alone can write it; whether it is on. Never throws. */
export function enableCompileCache (dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const stat = statSync(dir)
    if (stat.uid !== process.getuid?.() || (stat.mode & 0o022) !== 0) return false
    const { status } = module.enableCompileCache?.(dir) ?? {}
    const { ENABLED, ALREADY_ENABLED } = module.constants.compileCacheStatus
    return status === ENABLED || status === ALREADY_ENABLED
  } catch {
    // Read-only install, another user's directory …: run without it.
    return false
  }
}
