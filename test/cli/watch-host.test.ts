/**
 * `ipms watch --host` through the binary (src/cli/commands/watch-host.ts): an owner watches its
 * host's event stream as a phone would, over plain HTTP (the host's config `http`) and over
 * libp2p (the host named by its peer-id, from the owner's hosts); a mail sent by someone else is
 * told as it reaches the host, and the owner's sync fetches it at once.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IPMS_BIN, grantRunningHost, initHome, ipms, startDaemon } from '../../examples/ipms-cli.ts'
import { freePort } from '../helpers/processes.ts'

let root: string
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-watch-host-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

/** `ipms watch --host … --json` as a child: its JSON lines as they come. */
function watch (home: string, host: string): { child: ChildProcess, next: (match: (line: any) => boolean) => Promise<any>, stop: () => Promise<void> } {
  const child = spawn(IPMS_BIN, ['--home', home, 'watch', '--host', host, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: any[] = []
  const waiters = new Set<() => void>()
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  createInterface({ input: child.stdout! }).on('line', line => {
    lines.push(JSON.parse(line))
    for (const w of waiters) w()
  })
  const exited = once(child, 'exit')
  return {
    child,
    next: async (match) => await new Promise((resolve, reject) => {
      const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`no such line in time; lines: ${JSON.stringify(lines)}; stderr: ${stderr}`)) }, 90_000)
      const check = (): void => {
        const found = lines.find(match)
        if (found === undefined) return
        clearTimeout(timer)
        waiters.delete(check)
        resolve(found)
      }
      waiters.add(check)
      void exited.then(() => { if (waiters.has(check)) { clearTimeout(timer); waiters.delete(check); reject(new Error(`watch exited; lines: ${JSON.stringify(lines)}; stderr: ${stderr}`)) } })
      check()
    }),
    stop: async () => {
      if (child.exitCode === null) { child.kill('SIGINT'); await exited }
    }
  }
}

test('ipms watch --host: a mail is told as it reaches the host and synced at once, over HTTP and over libp2p', { timeout: 300_000 }, async () => {
  const owner = await initHome(join(root, 'owner'), ['--bits', '8'])
  const host = await initHome(join(root, 'host'))
  const sender = await initHome(join(root, 'sender'))
  const port = await freePort()
  const configPath = join(host.home, 'config.json')
  await writeFile(configPath, JSON.stringify({ ...JSON.parse(await readFile(configPath, 'utf8')), http: `127.0.0.1:${port}` }))
  const hostDaemon = await startDaemon(host.home, ['--listen', '/ip4/127.0.0.1/tcp/0'])
  const watchers: Array<ReturnType<typeof watch>> = []
  try {
    const { card } = await grantRunningHost(owner, host, hostDaemon)
    for (const [way, target] of [['http', `http://127.0.0.1:${port}`], ['libp2p', host.peerId]] as const) {
      const watcher = watch(owner.home, target)
      watchers.push(watcher)
      await watcher.next(l => l.event === 'connected')
      const sent = await ipms(sender.home, ['send', card, '-s', `over ${way}`, '--json'], { input: 'hello' })
      assert.equal(sent.code, 0, sent.stderr)
      const mail = await watcher.next(l => l.event === 'mail')
      assert.equal(mail.data.entry, sent.json.receipts[0].entry)
      const synced = await watcher.next(l => l.event === 'synced' && l.received.length > 0)
      assert.deepEqual(synced.received.map((r: { subject: string }) => r.subject), [`over ${way}`])
      await watcher.stop()
    }
    const list = await ipms(owner.home, ['list', '--json'])
    assert.equal(list.json.mail.length, 2, list.stdout)
  } finally {
    for (const w of watchers) await w.stop()
    assert.equal(await hostDaemon.stop(), 0)
  }
})
