/**
 * The `ipms` command line (README, "The command line"): a thin layer over the library API.
 *
 * ```sh
 * ipms init                      # your address
 * ipms contacts add bob ipmscard…
 * ipms send bob < note.txt
 * ipms sync && ipms list && ipms read 1
 * ```
 *
 * Watch for: Ctrl-C (SIGINT) and SIGTERM abort the command's signal; every command leaves the home
 * consistent (mail is on disk before anything is pruned or reported sent) and exits with 130, the
 * daemon with 0. Exit codes are in exit-codes.ts, one per kind of failure. A ref'd handle is held
 * while a command runs: Node never gives up on a pending await (exit 13) mid-command.
 */
import type { Argv } from 'yargs'
import { AbortError, IdentityNotFoundError, IpmsError } from '../errors.ts'
import { resolveHome } from '../identity/home.ts'
import { builtin } from '../util/builtin.ts'
import { keepAlive } from '../util/keep-alive.ts'
import type { CliCommand } from './command.ts'
import { createContext } from './context.ts'
import { createOutput } from './output.ts'
import { COMMANDS } from './commands/index.ts'
import { fastArgs } from './fast-args.ts'

const { existsSync, readFileSync } = builtin<typeof import('node:fs')>('node:fs')

/** The commands that make a home where there is none. */
const HOME_MAKERS = ['init', 'import']

/** A command-line mistake found by yargs (unknown option, missing argument …). */
class UsageError extends IpmsError {
  constructor (message: string) { super('ERR_USAGE', message) }
}

/** The first word of `argv` that is neither an option nor the value of `--home`. */
function commandName (argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--home') i++
    else if (!argv[i]!.startsWith('-')) return argv[i]
  }
  return undefined
}

/** Run the CLI on `argv` (without node and script); resolves with the exit code. */
export async function runCli (argv: string[]): Promise<number> {
  const release = keepAlive()
  try {
    return await run(argv)
  } finally {
    release()
  }
}

async function run (argv: string[]): Promise<number> {
  const flag = (name: string): boolean => argv.includes(`--${name}`) || (name === 'quiet' && argv.includes('-q')) || (name === 'verbose' && argv.includes('-v'))
  const out = createOutput({ json: flag('json'), quiet: flag('quiet'), verbose: flag('verbose') })
  const controller = new AbortController()
  const interrupt = (): void => { controller.abort(new AbortError('Interrupted')) }
  process.once('SIGINT', interrupt)
  process.once('SIGTERM', interrupt)

  const register = (parser: Argv, command: CliCommand, describe = command.describe ?? ''): Argv => parser.command(
    [command.command, ...command.aliases ?? []],
    describe,
    (y: Argv) => {
      let built = command.options?.(y) ?? y
      for (const [example, what] of command.examples ?? []) built = built.example(example, what)
      if (command.subcommands !== undefined) {
        for (const sub of command.subcommands) built = register(built, sub)
        if (!command.subcommands.some(s => s.command.startsWith('$0'))) built = built.demandCommand(1, `Name what to do: ipms ${command.command} --help lists it`)
      }
      return built
    },
    command.run === undefined ? undefined : async (args: Record<string, unknown>) => { await handle(command, args) }
  )
  const handle = async (command: CliCommand, args: Record<string, unknown>): Promise<void> => {
    const home = resolveHome(typeof args.home === 'string' ? args.home : undefined)
    // A mistyped --home is said at once, not read as an empty home ("No mail here yet").
    if (!HOME_MAKERS.includes(command.command.split(' ')[0]!) && !existsSync(home)) {
      throw new IdentityNotFoundError(`No IPMS home at ${home}${typeof args.home === 'string' ? ' (--home)' : ''}: check the path, or create one with \`ipms init\``)
    }
    await command.run!(args, createContext(home, out, controller.signal, { offline: args.offline === true }))
  }
  const load = async (named: string | undefined): Promise<CliCommand | undefined> => await COMMANDS.find(entry => [entry.command.split(' ')[0], ...entry.aliases ?? []].includes(named))?.load()

  try {
    if (commandName(argv) === undefined && (argv.includes('--version') || argv.includes('-V'))) {
      process.stdout.write(`ipms ${packageVersion()}\n`)
      return 0
    }
    // `id` and `list` with global flags only: no yargs to load (fast-args.ts).
    const fast = fastArgs(argv)
    if (fast !== undefined) await handle((await load(String((fast._ as string[])[0])))!, fast)
    else await (await parser(argv, register, load)).parseAsync()
    return 0
  } catch (err) {
    return out.failure(controller.signal.aborted && !(err instanceof IpmsError) ? new AbortError('Interrupted') : err)
  } finally {
    process.off('SIGINT', interrupt)
    process.off('SIGTERM', interrupt)
  }
}

/** This package's version (package.json, two directories up from src/cli or dist/cli). */
function packageVersion (): string {
  try {
    return String((JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }).version ?? 'unknown')
  } catch {
    return 'unknown'
  }
}

/** The yargs parser of `argv`, with the command being run loaded (the others are listed for --help). */
async function parser (argv: string[], register: (parser: Argv, command: CliCommand, describe: string) => Argv, load: (named: string | undefined) => Promise<CliCommand | undefined>): Promise<Argv> {
  const { default: yargs } = await import('yargs')
  let parser: Argv = yargs(argv)
    .scriptName('ipms')
    .usage('ipms — the Inter-Planetary Mailing System: mail to a peer-id, read only by its owner\n\nUsage: ipms <command> [options]')
    .option('home', { type: 'string', global: true, describe: 'The IPMS home (default: $IPMS_HOME, else ~/.ipms)' })
    .option('json', { type: 'boolean', global: true, default: false, describe: 'Machine-readable output: one JSON document (daemon: one per line)' })
    .option('quiet', { alias: 'q', type: 'boolean', global: true, default: false, describe: 'No notes or progress, only results' })
    .option('verbose', { alias: 'v', type: 'boolean', global: true, default: false, describe: 'Show stack traces of failures' })
    .option('offline', { type: 'boolean', global: true, default: false, describe: 'Work on the home itself, not through the daemon running on it (then exit 75 where the daemon holds the home)' })
    .strict()
    .recommendCommands()
    .demandCommand(1, 'Name a command: ipms --help lists them')
    .fail((message: string | undefined, err: Error | undefined) => { throw err ?? new UsageError(/--help/.test(message ?? '') ? message! : `${message ?? 'bad command line'} (see ipms --help)`) })
    .help()
    .alias('help', 'h')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .example('ipms init', 'create your address (a peer-id) and home')
    .example('ipms hosts grant 12D3KooW… --addr /ip4/…/tcp/4100/p2p/12D3KooW…', 'let a friend\'s host keep your inbox')
    .example('ipms send bob -s "Lunch?" < note.txt', 'mail a contact')
    .example('ipms sync && ipms list && ipms read 1', 'fetch your mail and read the newest')
    .example('ipms daemon', 'stay online: mail arrives as it is sent')
    .epilogue('ipms --version prints the version. Exit codes and environment: see the README. Debug logs: DEBUG=ipms:* (libp2p namespaces work too).')
  // A completion request (`ipms --get-yargs-completions ipms hosts …`) names its command after the script name.
  const completing = argv.indexOf('--get-yargs-completions')
  const named = commandName(completing === -1 ? argv : argv.slice(completing + 2))
  const running = await load(named)
  for (const entry of COMMANDS) {
    const names = [entry.command.split(' ')[0], ...entry.aliases ?? []]
    parser = running !== undefined && names.includes(named) ? register(parser, running, entry.describe) : parser.command([entry.command, ...entry.aliases ?? []], entry.describe)
  }
  return parser.completion('completion', 'Print a shell completion script: ipms completion >> ~/.bashrc (bash; zsh: >> ~/.zshrc)')
}

// Run when executed (bin/ipms), not when imported by a test.
if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/cli/main.js') === true || process.argv[1]?.endsWith('/cli/main.ts') === true) {
  const code = await runCli(process.argv.slice(2))
  // Flush stdout before exiting: libp2p and the PoW pool may still hold handles.
  process.stdout.write('', () => { process.exit(code) })
}
