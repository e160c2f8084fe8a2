/**
 * What bin/ipms runs: Node's compile cache on, then the CLI (main.ts). The cache keeps V8's
 * compiled code of every module loaded (and, for the sources, their stripped TypeScript), so a
 * run through the daemon parses little; it must be loaded first, hence this file before main.ts.
 *
 * Watch for: compiled code from the cache is trusted by V8, so the cache lives only in a
 * directory this user owns and nobody else may write (node_modules/.cache/ipms, as other tools
 * keep theirs); anything else, or any failure, and the CLI runs without a cache.
 */
import { mkdirSync, statSync } from 'node:fs'
import module from 'node:module'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** `<node_modules>/.cache/ipms`: the package's own node_modules in a checkout, else the one it is installed in. */
function cacheDir (): string {
  const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))))
  const parent = dirname(root)
  return join(basename(parent) === 'node_modules' ? parent : join(root, 'node_modules'), '.cache', 'ipms')
}

/** Turn the compile cache on where it is safe. Never throws. */
function enableCompileCache (): void {
  try {
    const dir = cacheDir()
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const stat = statSync(dir)
    if (stat.uid !== process.getuid?.() || (stat.mode & 0o022) !== 0) return
    module.enableCompileCache?.(dir)
  } catch {
    // Read-only install, another user's directory …: run without it.
  }
}

enableCompileCache()
const { runCli } = await import('./main.ts')
const code = await runCli(process.argv.slice(2))
// Flush stdout before exiting: libp2p and the PoW pool may still hold handles.
process.stdout.write('', () => { process.exit(code) })
