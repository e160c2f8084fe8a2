/**
 * How `ipms` starts fast (issue #12: `list` and `id` through a daemon): which of dist/ and src/
 * bin/ipms runs (dist/ only while its build stamp is newer than the sources), the command lines
 * read without yargs (fast-args.ts) giving exactly what yargs gives, and the compile cache
 * (compile-cache.ts) refusing a directory another user could write.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { IPMS_BIN, initHome, ipms, startDaemon } from '../../examples/ipms-cli.ts'
import { compileCacheDir } from '../../src/cli/compile-cache.ts'
import { fastArgs } from '../../src/cli/fast-args.ts'

const run = promisify(execFile)
let root: string
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-startup-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

test('bin/ipms runs dist/ only while dist/.built is newer than every file and directory of src/ and the tsconfigs', async () => {
  // A fake package: bin/ipms itself, and two entry points that say which one ran.
  const pkg = join(root, 'pkg')
  await mkdir(join(pkg, 'bin'), { recursive: true })
  await copyFile(IPMS_BIN, join(pkg, 'bin', 'ipms'))
  const write = async (path: string, text: string): Promise<void> => { await mkdir(dirname(join(pkg, path)), { recursive: true }); await writeFile(join(pkg, path), text) }
  await write('src/cli/bin.ts', 'console.log("src")\n')
  await write('src/cli/main.ts', '\n')
  await write('tsconfig.json', '{}\n')
  await write('dist/cli/bin.js', 'console.log("dist")\n')
  // Node 24 from this project's node_modules, as bin/ipms would find it in a checkout.
  const env = { ...process.env, PATH: `${join(import.meta.dirname, '../../node_modules/.bin')}:${process.env.PATH ?? ''}` }
  const which = async (): Promise<string> => (await run('sh', [join(pkg, 'bin', 'ipms')], { env })).stdout.trim()
  // File times set on a clock of our own: real ones are coarser than the steps of this test.
  let clock = Date.now() - 1_000_000
  const tick = async (path: string): Promise<void> => { clock += 10_000; await utimes(join(pkg, path), new Date(clock), new Date(clock)) }
  for (const path of ['src/cli/bin.ts', 'src/cli/main.ts', 'src/cli', 'src', 'tsconfig.json']) await tick(path)
  const build = async (): Promise<void> => { await write('dist/.built', ''); await tick('dist/.built') }

  assert.equal(await which(), 'src', 'never built: the sources')
  await build()
  assert.equal(await which(), 'dist', 'built after the last change')
  await write('src/cli/main.ts', '// edited\n')
  await tick('src/cli/main.ts')
  assert.equal(await which(), 'src', 'a source edited after the build')
  await build()
  assert.equal(await which(), 'dist')
  await rm(join(pkg, 'src/cli/main.ts'))
  await tick('src/cli')
  assert.equal(await which(), 'src', 'a source removed after the build (its directory changed)')
  await build()
  await write('tsconfig.json', '{ "compilerOptions": {} }\n')
  await tick('tsconfig.json')
  assert.equal(await which(), 'src', 'the tsconfig changed after the build')
})

test('bin/ipms finds its package wherever it is run from: by a relative path, from its own directory, through a link elsewhere', async () => {
  // A fake package whose own node only says what it was asked to run.
  const pkg = join(root, 'linked')
  await mkdir(join(pkg, 'bin'), { recursive: true })
  await mkdir(join(pkg, 'node_modules', '.bin'), { recursive: true })
  await mkdir(join(pkg, 'src', 'cli'), { recursive: true })
  await copyFile(IPMS_BIN, join(pkg, 'bin', 'ipms'))
  await writeFile(join(pkg, 'src', 'cli', 'bin.ts'), '\n')
  await writeFile(join(pkg, 'node_modules', '.bin', 'node'), '#!/bin/sh\necho "package node: $2"\n')
  await chmod(join(pkg, 'node_modules', '.bin', 'node'), 0o755)
  await chmod(join(pkg, 'bin', 'ipms'), 0o755)
  const elsewhere = join(root, 'elsewhere')
  await mkdir(elsewhere, { recursive: true })
  await symlink(join(pkg, 'bin', 'ipms'), join(elsewhere, 'ipms'))
  const expected = `package node: ${join(pkg, 'src', 'cli', 'bin.ts')}`
  assert.equal((await run('bin/ipms', [], { cwd: pkg })).stdout.trim(), expected, 'a relative path')
  assert.equal((await run('./ipms', [], { cwd: join(pkg, 'bin') })).stdout.trim(), expected, 'from its own directory')
  assert.equal((await run('./ipms', [], { cwd: elsewhere })).stdout.trim(), expected, 'through a link')
})

test('fastArgs: id and list with global flags only, as yargs would give them; anything else is left to yargs', () => {
  assert.deepEqual(fastArgs(['list']), { quarantined: false, json: false, quiet: false, verbose: false, offline: false, q: false, v: false, _: ['list'], $0: 'ipms' })
  assert.deepEqual(fastArgs(['--home', '/h', 'id', '--json', '-q', '--verbose']), { json: true, quiet: true, verbose: true, offline: false, q: true, v: true, home: '/h', _: ['id'], $0: 'ipms' })
  for (const argv of [[], ['--help'], ['list', '--help'], ['list', '-h'], ['id', 'extra'], ['list', '--quarantined'], ['list', '--offline'], ['read', '1'],
    ['--home=/h', 'id'], ['id', '--home'], ['id', '--home', '--json'], ['id', '--home', ''], ['id', '--home', 'a', '--home', 'b'], ['id', '--json', '--json'], ['id', '-q', '--quiet'],
    ['id', 'list'], ['id', '--no-json'], ['id', '-qv'], ['id', '--no-offline'], ['constructor'], ['toString']]) {
    assert.equal(fastArgs(argv), undefined, argv.join(' '))
  }
})

test('ipms id and ipms list: the same output read without yargs as through it, through a daemon and without one', async () => {
  const { home } = await initHome(join(root, 'home'), ['--bits', '8'])
  // `--no-offline` (the default) is not read by fast-args.ts: that run goes through yargs.
  const both = async (args: string[]): Promise<void> => {
    const fast = await ipms(home, args)
    const parsed = await ipms(home, [...args, '--no-offline'])
    assert.equal(fast.code, 0, fast.stderr)
    assert.deepEqual({ ...fast }, { ...parsed }, args.join(' '))
  }
  for (const args of [['id'], ['id', '--json'], ['list'], ['list', '--json', '-q']]) await both(args)
  const daemon = await startDaemon(home, ['--listen', '/ip4/127.0.0.1/tcp/0'])
  try {
    for (const args of [['id'], ['id', '--json'], ['list'], ['list', '--json', '-q']]) await both(args)
    assert.match((await ipms(home, ['id'])).stdout, /Listening: \/ip4\/127\.0\.0\.1/, 'through the daemon')
  } finally {
    await daemon.stop()
  }
})

test('compile cache: in the node_modules of the checkout or of the install; only in a directory nobody else may write', async () => {
  assert.equal(compileCacheDir('/src/ipms'), '/src/ipms/node_modules/.cache/ipms')
  assert.equal(compileCacheDir('/usr/lib/node_modules/ipms'), '/usr/lib/node_modules/.cache/ipms')
  // In a child: the cache, once on, stays on for the process.
  const enable = async (dir: string): Promise<string> => (await run(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e',
    `import { enableCompileCache } from ${JSON.stringify(join(import.meta.dirname, '../../src/cli/compile-cache.ts'))}; console.log(enableCompileCache(${JSON.stringify(dir)}))`])).stdout.trim()
  const fresh = join(root, 'cache', 'fresh')
  assert.equal(await enable(fresh), 'true', 'created, 0700')
  assert.equal(await enable(fresh), 'true', 'its own, again')
  const shared = join(root, 'cache', 'shared')
  await mkdir(shared, { recursive: true })
  await chmod(shared, 0o777)
  assert.equal(await enable(shared), 'false', 'writable by others: no cache')
  assert.deepEqual(await readdir(shared), [], 'nothing written there')
  await writeFile(join(root, 'cache', 'file'), '')
  assert.equal(await enable(join(root, 'cache', 'file', 'below')), 'false', 'cannot be created: no cache, no failure')
})
