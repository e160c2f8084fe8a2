/**
 * The command lines that need no parser: `ipms [--home <dir>] [--json] [-q] [-v] id|list`, the
 * commonest reads, which a script may run many times a second against a daemon. yargs alone takes
 * a fifth of such a run to load; these lines are read here instead, into the same arguments yargs
 * would give the command. Anything else (another command, another option, `--home=<dir>`, a flag
 * given twice, `--help`) returns undefined and goes through yargs, which checks and explains it.
 */

/** The commands read here, with the defaults of their own options (as their `options` declare). */
const FAST_COMMANDS: Record<string, Record<string, unknown>> = {
  id: {},
  list: { quarantined: false }
}

/** The global flags (main.ts), by every name yargs knows them by. */
const FLAGS: Record<string, string> = { '--json': 'json', '--quiet': 'quiet', '-q': 'quiet', '--verbose': 'verbose', '-v': 'verbose' }

/** The arguments of `argv` (without node and script) as yargs would give them, or undefined. */
export function fastArgs (argv: string[]): Record<string, unknown> | undefined {
  const args: Record<string, unknown> = { json: false, quiet: false, verbose: false, offline: false }
  let command: string | undefined
  let home: string | undefined
  const seen = new Set<string>()
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!
    const flag = FLAGS[word]
    if (flag !== undefined) {
      if (seen.has(flag)) return undefined
      seen.add(flag)
      args[flag] = true
    } else if (word === '--home') {
      const value = argv[++i]
      if (home !== undefined || value === undefined || value === '' || value.startsWith('-')) return undefined
      home = value
    } else if (command === undefined && Object.hasOwn(FAST_COMMANDS, word)) {
      command = word
    } else {
      return undefined
    }
  }
  if (command === undefined) return undefined
  // yargs' aliases: -q and -v are set along with quiet and verbose.
  return { ...FAST_COMMANDS[command], ...args, q: args.quiet, v: args.verbose, ...(home === undefined ? {} : { home }), _: [command], $0: 'ipms' }
}
