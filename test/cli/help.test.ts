/**
 * Every command's help, through the binary (issue #14): examples on every command and group
 * (`hosts`, `host`, `contacts`, `outbox`, the top level), every positional described; shell
 * completion (`ipms completion`) that completes sub-commands and options.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { COMMANDS } from '../../src/cli/commands/index.ts'
import { concurrencyLimit } from '../../src/util/concurrency-limit.ts'
import { ipms } from '../../examples/ipms-cli.ts'

/** Each command line whose help is checked: [] (the top level), each command, each sub-command. */
async function commandLines (): Promise<string[][]> {
  const lines: string[][] = [[]]
  for (const entry of COMMANDS) {
    const name = entry.command.split(' ')[0]!
    lines.push([name])
    for (const sub of (await entry.load()).subcommands ?? []) {
      if (!sub.command.startsWith('$0')) lines.push([name, sub.command.split(' ')[0]!])
    }
  }
  return lines
}

test('every command, group and the top level has examples in its --help, and every positional is described', async () => {
  const home = tmpdir() // --help reads nothing from the home
  const limit = concurrencyLimit(4)
  const lines = await commandLines()
  assert.ok(lines.length > 25, `${lines.length} command lines`)
  await Promise.all(lines.map(async line => await limit.run(async () => {
    const { code, stdout, stderr } = await ipms(home, [...line, '--help'])
    const what = `ipms ${line.join(' ')} --help`
    assert.equal(code, 0, `${what}: ${stderr}`)
    assert.match(stdout, /\nExamples:\n {2}ipms /, `${what} has no examples`)
    const usage = stdout.split('\n')[0]!
    const positionals = [...usage.matchAll(/[<[]([a-z-]+)[>\]]/g)].map(m => m[1]!).filter(p => p !== 'command' && p !== 'options')
    for (const name of positionals) {
      // yargs prints `  name  description  [type]` under Positionals: a description is words before the type.
      assert.match(stdout, new RegExp(`\\nPositionals:\\n(?: {2}.*\\n)*? {2}${name} +\\S[^[]*\\[`), `${what}: positional <${name}> is not described`)
    }
  })))
})

test('ipms completion prints a completion script; completing gives commands, sub-commands and options', async () => {
  const home = tmpdir()
  const script = await ipms(home, ['completion'])
  assert.equal(script.code, 0, script.stderr)
  assert.match(script.stdout, /--get-yargs-completions/)
  const complete = async (...words: string[]): Promise<string[]> => {
    const run = await ipms(home, ['--get-yargs-completions', 'ipms', ...words])
    assert.equal(run.code, 0, run.stderr)
    return run.stdout.split('\n').filter(Boolean)
  }
  assert.ok((await complete('ho')).includes('hosts'))
  assert.deepEqual((await complete('hosts', '')).filter(w => !w.startsWith('-')), ['grant', 'list', 'revoke'])
  assert.ok((await complete('send', 'bob', '--')).includes('--subject'))
})

test('the README\'s command table: one well-formed row per command line, each command in it', async () => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
  const rows = readme.split('\n').filter(l => l.startsWith('| `ipms '))
  for (const row of rows) {
    // Three cells: the command, what it does, an example (`\|` is a pipe inside a cell).
    assert.equal(row.replace(/\\\|/g, '').split('|').length, 5, `a damaged row: ${row.slice(0, 80)}`)
  }
  const commands = rows.map(r => r.split('|')[1]!)
  for (const entry of [...COMMANDS.map(e => e.command.split(' ')[0]!), 'completion']) {
    assert.ok(commands.some(c => c.includes(`\`ipms ${entry}`)), `ipms ${entry} is not in the README's table`)
  }
  assert.equal(new Set(commands).size, commands.length, 'a command listed twice')
})
