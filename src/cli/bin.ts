/**
 * What bin/ipms runs: Node's compile cache on (compile-cache.ts), then the CLI (main.ts). The
 * cache applies only to modules loaded after it is on, hence this file before main.ts.
 */
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { compileCacheDir, enableCompileCache } from './compile-cache.ts'

// src/cli/bin.ts or dist/cli/bin.js: the package is two directories up.
enableCompileCache(compileCacheDir(dirname(dirname(dirname(fileURLToPath(import.meta.url))))))
const { runCli } = await import('./main.ts')
const code = await runCli(process.argv.slice(2))
// Flush stdout before exiting: libp2p and the PoW pool may still hold handles.
process.stdout.write('', () => { process.exit(code) })
