/**
 * libp2p's component logger (`@libp2p/logger`), without its cost when a namespace is off: libp2p
 * makes a scoped logger for every stream and connection, and each costs three `debug` instances
 * and a terminal check (`isatty`), tens of µs per stream on a host taking hundreds a second.
 *
 * Same output: a namespace that `DEBUG` (or `enable`) turns on, or its `:error`, gets
 * `@libp2p/logger`'s own logger; the rest get a no-op, checked again for every new scope.
 */
import { enabled, logger } from '@libp2p/logger'
import type { ComponentLogger, Logger } from '@libp2p/interface'

function quiet (name: string): Logger {
  if (enabled(name) || enabled(`${name}:error`) || enabled(`${name}:trace`)) return logger(name)
  const off = Object.assign(() => {}, { enabled: false })
  return Object.assign(() => {}, {
    enabled: false,
    error: off,
    trace: off,
    newScope: (scope: string) => quiet(`${name}:${scope}`)
  }) as unknown as Logger
}

/** A ComponentLogger for `createLibp2p({ logger })`. */
export function quietLogger (): ComponentLogger {
  return { forComponent: quiet }
}
