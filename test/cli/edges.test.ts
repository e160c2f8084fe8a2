/**
 * Output and edges a script meets (issue #14), through the real binary, both ways
 * (test/cli/ways.ts): data on stdout and notes on stderr (`ipms card > bob.card` is the card alone,
 * `hosts grant` prints the operator's command alone, `-q` silences every note), `host accept`
 * without the owner's card or `--bits` refused instead of guessing the difficulty, `--version`;
 * `hosts grant` by the address `ipms id` prints, refusing no place to dial (0.0.0.0, ::, port 0);
 * an expired grant said as such by `hosts list` and `card`.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initHome, ipms, startDaemon, type Daemon } from '../../examples/ipms-cli.ts'
import { EXIT } from '../../src/cli/exit-codes.ts'
import { verifyCard } from '../../src/hosting/card.ts'
import { throughDaemon, WAYS } from './ways.ts'

let root: string
let n = 0
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-edges-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

for (const way of WAYS) {
  test(`data on stdout, notes on stderr, -q silences notes; host accept never guesses the difficulty; hosts grant by address, never to no place, expired grants said — ${way}`, async () => {
    const owner = await initHome(join(root, `owner-${++n}`), ['--bits', '10'])
    const host = await initHome(join(root, `host-${n}`))
    const daemons: Daemon[] = []
    try {
      if (throughDaemon(way)) for (const h of [owner, host]) daemons.push(await startDaemon(h.home, ['--listen', '/ip4/127.0.0.1/tcp/0']))
      const granted = await ipms(owner.home, ['hosts', 'grant', host.peerId, '--addr', '/ip4/127.0.0.1/tcp/9'])
      assert.equal(granted.code, 0, granted.stderr)
      const accept = granted.stdout.trim()
      assert.match(accept, /^ipms host accept ipmsgrant\w+ --card ipmscard\w+$/, 'the operator\'s command alone on stdout')
      assert.match(granted.stderr, /Its operator runs:/)
      assert.match(granted.stderr, /Your card changed/)
      const card = await ipms(owner.home, ['card'])
      assert.equal(verifyCard(card.stdout.trim()).owner, owner.peerId, 'ipms card > bob.card: the card alone')
      assert.match(card.stderr, /^Lists 1 host: /m)
      const quiet = await ipms(owner.home, ['card', '-q'])
      assert.equal(quiet.stderr, '')
      assert.equal(quiet.stdout, card.stdout)
      const revoked = await ipms(owner.home, ['hosts', 'revoke', host.peerId, '-q'])
      assert.equal(revoked.code, 0, revoked.stderr)
      assert.equal(revoked.stderr, '')
      assert.deepEqual(verifyCard(revoked.stdout.trim()).hosts, [], 'the new card alone on stdout')

      // A host named by the address its ipms id prints; no place to dial refused; an expired grant said.
      const other = await initHome(join(root, `other-${n}`))
      const byAddress = await ipms(owner.home, ['hosts', 'grant', `/ip4/127.0.0.1/tcp/9/p2p/${other.peerId}`, '--expires', '2s', '--json'])
      assert.equal(byAddress.code, 0, byAddress.stderr)
      assert.equal(byAddress.json.host, other.peerId)
      const expires = Number(byAddress.json.expires)
      for (const [args, why] of [
        [[other.peerId, '--addr', '/ip4/0.0.0.0/tcp/4100'], /unspecified address/],
        [[other.peerId, '--addr', '/ip6/::/tcp/4100'], /unspecified address/],
        [[other.peerId, '--addr', '/ip4/127.0.0.1/tcp/0'], /port 0/],
        [['/ip4/127.0.0.1/tcp/9'], /does not say which host it is: end it with \/p2p\/<peer-id>/],
        [[other.peerId], /Say where senders reach the host: --addr/],
        [['/not/a/multiaddr'], /neither a peer-id nor a multiaddr/]
      ] as const) {
        const refused = await ipms(owner.home, ['hosts', 'grant', ...args])
        assert.equal(refused.code, EXIT.USAGE, `${args.join(' ')}: ${refused.stderr}`)
        assert.match(refused.stderr, why)
      }
      // Waiting for the clock to pass the grant's expiry is the point here, not a synchronisation.
      await new Promise(resolve => setTimeout(resolve, Math.max(0, expires - Date.now() + 50)))
      const listed = await ipms(owner.home, ['hosts', 'list', '--json'])
      assert.deepEqual(listed.json.hosts.map((h: { peer: string, expired: boolean }) => [h.peer, h.expired]), [[other.peerId, true]])
      const human = await ipms(owner.home, ['hosts', 'list'])
      assert.match(human.stdout, new RegExp(`^${other.peerId} .*GRANT EXPIRED`, 'm'))
      assert.match(human.stderr, /The grant of 1 host has expired: .*It refuses your mail now/)
      assert.match((await ipms(owner.home, ['card'])).stderr, new RegExp(`The grant of 1 host has expired: ${other.peerId}`))
      assert.equal((await ipms(owner.home, ['hosts', 'revoke', other.peerId, '-q'])).code, 0)

      // The grant alone does not say the inbox's difficulty: refused, with the fix; with the card, kept.
      const grant = /ipmsgrant\w+/.exec(accept)![0]
      const guessed = await ipms(host.home, ['host', 'accept', grant])
      assert.equal(guessed.code, EXIT.USAGE, guessed.stderr)
      assert.match(guessed.stderr, /does not say the difficulty of 12D3KooW\w+'s inbox: give their card too \(--card ipmscard…/)
      assert.equal((await ipms(host.home, ['host', 'accept', grant, '--bits', '99'])).code, EXIT.USAGE)
      const kept = await ipms(host.home, accept.split(' ').slice(1).concat('-q'))
      assert.equal(kept.code, 0, kept.stderr)
      assert.equal(kept.stderr, '')
      assert.match(kept.stdout, /^Keeping the inbox of 12D3KooW\w+ \(difficulty 10 bits\)\.\n$/)
    } finally {
      for (const d of daemons) assert.equal(await d.stop(), 0)
    }
  })
}

test('--version prints the package version, exit 0', async () => {
  const version = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')).version
  const run = await ipms(join(root, 'none'), ['--version'])
  assert.equal(run.code, 0, run.stderr)
  assert.equal(run.stdout, `ipms ${String(version)}\n`)
})
