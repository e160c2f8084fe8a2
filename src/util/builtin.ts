/**
 * A Node built-in taken as its CommonJS module, for what every CLI run loads. Its ESM facade
 * (`import … from 'node:fs'`) reads every export at the first import, and some exports are getters
 * that load more: node:fs's ReadStream loads the fs streams (~2 ms), node:http's WebSocket loads
 * undici (20–35 ms of a run through the daemon). createRequire rather than
 * process.getBuiltinModule, which only Node ≥ 22.3 has (engines says ≥ 22).
 */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/** `builtin<typeof import('node:fs')>('node:fs')`: the module, without its ESM facade. */
export const builtin = <T>(name: `node:${string}`): T => require(name) as T
