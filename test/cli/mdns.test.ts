/**
 * The "Mars" case (issue #6): an office LAN with no bootstrap configured anywhere. The office host
 * and the staff find each other by mDNS; a sender on the LAN who knows only a colleague's peer-id
 * reaches the office host. Each node is an `ipms` process in a network namespace of its own, on a
 * bridge the test makes, so multicast never leaves the test.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ipms, startDaemon, type Daemon } from '../../examples/ipms-cli.ts'
import { createLan, type Lan } from '../helpers/lan.ts'

let root: string
let lan: Lan
const daemons: Daemon[] = []
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ipms-cli-mdns-'))
  lan = await createLan(3)
})
after(async () => {
  await Promise.all(daemons.map(async d => await d.stop()))
  await lan.destroy()
  await rm(root, { recursive: true, force: true })
})

async function init (name: string, listen: string, ...args: string[]): Promise<{ home: string, peerId: string }> {
  const home = join(root, name)
  const run = await ipms(home, ['init', '--json', ...args])
  assert.equal(run.code, 0, run.stderr)
  const configPath = join(home, 'config.json')
  await writeFile(configPath, JSON.stringify({ ...JSON.parse(await readFile(configPath, 'utf8')), listen: [listen], bootstrap: [], mdns: true }))
  return { home, peerId: run.json.peerId }
}

test('mDNS on a LAN: with no bootstrap anywhere, a sender finds the office host from a peer-id alone', async () => {
  const [office, staff, visitor] = lan.nodes as [Lan['nodes'][number], Lan['nodes'][number], Lan['nodes'][number]]
  const host = await init('office-host', `/ip4/${office.address}/tcp/0`)
  const colleague = await init('colleague', `/ip4/${staff.address}/tcp/0`, '--bits', '12')
  const sender = await init('sender', `/ip4/${visitor.address}/tcp/0`)
  const hostDaemon = await startDaemon(host.home, [], { wrap: office.wrap })
  daemons.push(hostDaemon)
  const hostAddr = (hostDaemon.started.addrs as string[])[0]!.replace(/\/p2p\/.*/, '')
  assert.match(hostAddr, new RegExp(`^/ip4/${office.address.replace(/\./g, '\\.')}/tcp/\\d+$`))
  const grant = await ipms(colleague.home, ['hosts', 'grant', host.peerId, '--addr', hostAddr, '--json'])
  assert.equal((await ipms(host.home, ['host', 'accept', grant.json.grant, '--card', grant.json.card])).code, 0)
  await hostDaemon.next(e => e.event === 'hosting')
  // The colleague's node comes up on the LAN, finds the host by mDNS and publishes its record.
  const colleagueDaemon = await startDaemon(colleague.home, [], { wrap: staff.wrap })
  daemons.push(colleagueDaemon)
  await colleagueDaemon.next(e => e.event === 'published' && e.owner === colleague.peerId, { timeoutMs: 60_000 })
  assert.equal(await colleagueDaemon.stop(), 0)

  const sent = await ipms(sender.home, ['send', colleague.peerId, '-s', 'Lunch on Mars', '--json'], { input: 'in the dome at noon\n', wrap: visitor.wrap })
  assert.equal(sent.code, 0, sent.stderr + sent.stdout)
  assert.equal(sent.json.via, 'dht')
  assert.equal(sent.json.receipts[0].host, host.peerId)

  const read = await ipms(colleague.home, ['sync', '--json'], { wrap: staff.wrap })
  assert.equal(read.code, 0, read.stderr)
  assert.deepEqual(read.json.received.map((r: { subject: string }) => r.subject), ['Lunch on Mars'])
})
