/**
 * Sending with nothing but a peer-id, end to end through `ipms` in child processes (issue #6):
 * six nodes on 127.0.0.1 — the owner, two hosts, a sender and two plain DHT nodes. The owner
 * publishes its hosts record and goes offline; the sender, knowing only the peer-id and one
 * bootstrap address, delivers; the owner later reads.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ipms, startDaemon, type Daemon } from '../../examples/ipms-cli.ts'

let root: string
const daemons: Daemon[] = []
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-dht-')) })
after(async () => {
  await Promise.all(daemons.map(async d => await d.stop()))
  await rm(root, { recursive: true, force: true })
})

async function init (name: string, bootstrap: string[], ...args: string[]): Promise<{ home: string, peerId: string }> {
  const home = join(root, name)
  const run = await ipms(home, ['init', '--json', ...args])
  assert.equal(run.code, 0, run.stderr)
  const configPath = join(home, 'config.json')
  await writeFile(configPath, JSON.stringify({ ...JSON.parse(await readFile(configPath, 'utf8')), bootstrap }))
  return { home, peerId: run.json.peerId }
}

async function daemon (home: string): Promise<Daemon & { started: any }> {
  const d = await startDaemon(home)
  daemons.push(d)
  return d
}

test('six nodes: the owner publishes and goes offline; a sender with only the peer-id and one bootstrap address delivers; the owner reads', async () => {
  // Two plain DHT nodes, the second bootstrapping from the first.
  const d1 = await init('dht1', [])
  const dht1 = await daemon(d1.home)
  const d2 = await init('dht2', [dht1.started.addrs[0]])
  const dht2 = await daemon(d2.home)
  const viaD1 = [dht1.started.addrs[0] as string]
  // Two hosts and the owner, all bootstrapping from the first DHT node.
  const [h1, h2] = [await init('host1', viaD1), await init('host2', viaD1)]
  const [host1, host2] = [await daemon(h1.home), await daemon(h2.home)]
  const owner = await init('owner', viaD1, '--bits', '12')
  for (const [host, d] of [[h1, host1], [h2, host2]] as const) {
    const grant = await ipms(owner.home, ['hosts', 'grant', host.peerId, '--addr', d.started.addrs[0].replace(/\/p2p\/.*/, ''), '--json'])
    assert.equal(grant.code, 0, grant.stderr)
  }
  const card = (await ipms(owner.home, ['card', '--json'])).json.card as string
  for (const [host, d] of [[h1, host1], [h2, host2]] as const) {
    const grant = (await ipms(owner.home, ['hosts', 'list', '--json'])).json.hosts.find((g: { peer: string }) => g.peer === host.peerId).grant
    assert.equal((await ipms(host.home, ['host', 'accept', grant, '--card', card])).code, 0)
    await d.next(e => e.event === 'hosting')
  }
  // The owner comes online once: its daemon publishes the hosts record, then it goes away.
  const ownerDaemon = await daemon(owner.home)
  const published = await ownerDaemon.next(e => e.event === 'published' && e.owner === owner.peerId)
  assert.ok(published.peers >= 1)
  assert.equal(await ownerDaemon.stop(), 0)
  // The hosts republish it while the owner is offline.
  await host1.next(e => e.event === 'published' && e.owner === owner.peerId)

  // The sender knows the peer-id and one bootstrap address: the second DHT node.
  const sender = await init('sender', [dht2.started.addrs[0]])
  const sent = await ipms(sender.home, ['send', owner.peerId, '-s', 'Found you', '--json'], { input: 'by peer-id alone\n' })
  assert.equal(sent.code, 0, sent.stderr + sent.stdout)
  assert.equal(sent.json.via, 'dht')
  assert.ok([h1.peerId, h2.peerId].includes(sent.json.receipts[0].host))
  const human = await ipms(sender.home, ['send', owner.peerId], { input: 'again\n' })
  assert.equal(human.code, 0, human.stderr)
  assert.match(human.stderr, /^Delivering to 12D3KooW\S+ by the card found on the DHT a moment ago \(2 hosts\)\.$/m, 'the second send uses the cached card, and says so')

  // The owner syncs from its hosts and reads both.
  const sync = await ipms(owner.home, ['sync', '--json'])
  assert.equal(sync.code, 0, sync.stderr)
  assert.deepEqual(sync.json.received.map((r: { subject: string }) => r.subject).sort(), ['', 'Found you'])
})
