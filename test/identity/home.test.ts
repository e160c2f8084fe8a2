import { describe, it, before, after, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, mkdir, rm, stat, chmod } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureHome, identityPath, resolveHome } from '../../src/identity/home.ts'
import { InvalidArgumentError } from '../../src/errors.ts'

describe('home', () => {
  let root: string
  const saved = process.env['IPMS_HOME']
  before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-home-')) })
  after(async () => { await rm(root, { recursive: true, force: true }) })
  afterEach(() => {
    if (saved === undefined) delete process.env['IPMS_HOME']
    else process.env['IPMS_HOME'] = saved
  })

  it('resolves explicit, then $IPMS_HOME, then ~/.ipms', () => {
    process.env['IPMS_HOME'] = join(root, 'from-env')
    assert.equal(resolveHome(join(root, 'explicit')), join(root, 'explicit'))
    assert.equal(resolveHome(), join(root, 'from-env'))
    assert.equal(resolveHome(''), join(root, 'from-env'))
    process.env['IPMS_HOME'] = ''
    assert.equal(resolveHome(), join(homedir(), '.ipms'))
    delete process.env['IPMS_HOME']
    assert.equal(resolveHome(), join(homedir(), '.ipms'))
    assert.equal(resolveHome('relative/dir'), join(process.cwd(), 'relative/dir'))
    assert.throws(() => resolveHome(42 as unknown as string), (err: unknown) => err instanceof InvalidArgumentError && err.code === 'ERR_INVALID_ARGUMENT')
  })

  it('names the identity file', () => {
    assert.equal(identityPath('/x/y'), join('/x/y', 'identity.json'))
  })

  it('creates a missing home with mode 0700, whatever the umask', async () => {
    const home = join(root, 'a', 'b')
    const old = process.umask(0o077 ^ 0o070) // group bits allowed by the umask on purpose
    try {
      await ensureHome(home)
    } finally {
      process.umask(old)
    }
    assert.equal((await stat(home)).mode & 0o777, 0o700)
    await ensureHome(home) // idempotent
    assert.equal((await stat(home)).mode & 0o777, 0o700)
  })

  it('leaves the mode of an existing home alone', async () => {
    const home = join(root, 'existing')
    await mkdir(home)
    await chmod(home, 0o750)
    await ensureHome(home)
    assert.equal((await stat(home)).mode & 0o777, 0o750)
  })
})
