/**
 * Progress on a terminal (issue #12: "progress still shown" through the daemon). `ipms send` runs
 * on a real pseudo-terminal (util-linux `script`), with and without a daemon holding the sender's
 * home: the same progress lines (each redrawn in place: `\r`, erase line) reach the terminal, then
 * the result; with `--json` or in a pipe, no progress at all.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startHostFor, initHome, ipms, startDaemon, type Daemon } from '../../examples/ipms-cli.ts'
import { onTerminal } from '../helpers/terminal.ts'
import { throughDaemon, WAYS } from './ways.ts'

let root: string
let n = 0
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-progress-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

/** `ipms …args` on a pseudo-terminal: everything the terminal got (stdout and stderr, as written). */
const screenOf = async (home: string, args: string[]): Promise<string> => (await onTerminal(home, args, {}).done).screen

for (const way of WAYS) {
  test(`send on a terminal shows its progress redrawn in place, then the result; --json shows none — ${way}`, async () => {
    const host = await initHome(join(root, `host-${++n}`))
    const owner = await initHome(join(root, `owner-${n}`), ['--bits', '14'])
    const sender = await initHome(join(root, `sender-${n}`))
    const body = join(root, `body-${n}.txt`)
    await writeFile(body, 'Are you there?\n')
    const daemons: Daemon[] = []
    try {
      const { hostDaemon, card } = await startHostFor(owner, host)
      daemons.push(hostDaemon)
      assert.equal((await ipms(sender.home, ['contacts', 'add', 'owner', card])).code, 0)
      if (throughDaemon(way)) daemons.push(await startDaemon(sender.home, ['--listen', '/ip4/127.0.0.1/tcp/0']))

      const screen = await screenOf(sender.home, ['send', 'owner', '-s', 'progress', body])
      assert.match(screen, /\r\x1b\[KDelivering to 12D3KooW/, JSON.stringify(screen))
      // The progress line is erased before the result is printed.
      assert.match(screen, /\r\x1b\[KSent to owner in [\d.]+ s\./, JSON.stringify(screen))
      const json = await screenOf(sender.home, ['send', 'owner', '-s', 'quiet', body, '--json'])
      assert.doesNotMatch(json, /\x1b\[K/, 'no progress with --json')
      assert.match(json, /"delivered":true/)
      const piped = await ipms(sender.home, ['send', 'owner', '-s', 'piped', body])
      assert.equal(piped.code, 0, piped.stderr)
      assert.doesNotMatch(piped.stderr, /\x1b/, 'no progress into a pipe')
      if (throughDaemon(way)) await daemons[1]!.next(e => e.event === 'sent')
    } finally {
      for (const d of daemons) assert.equal(await d.stop(), 0)
    }
  })
}
