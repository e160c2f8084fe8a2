/**
 * The README's quick start, end to end through the real `ipms` binary in child processes: three
 * homes (Alice, Bob, a friend's host), Bob grants the host, Alice sends while Bob is offline, Bob
 * syncs and reads. `npm start` runs the same steps. Run twice: with each command opening its home,
 * and with a daemon on every home, so that the commands go through the daemons' local API; the
 * output is the same (but for what Bob's daemon already fetched before `ipms sync` asked).
 *
 * Then the life after it (issue #14), both ways too: Bob replies (`ipms reply`), Alice sees the
 * conversation as one thread (`list --threads`), deletes the reply in her mail tool (its Maildir
 * file removed) and no longer has it listed; with the host down, a mail waits in her outbox,
 * `ipms outbox retry` exits 69, and `ipms outbox rm` cancels it.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { grantRunningHost, initHome, ipms, startDaemon, type Daemon } from '../../examples/ipms-cli.ts'
import { walkthrough } from '../../examples/walkthrough.ts'
import { EXIT } from '../../src/cli/exit-codes.ts'
import { throughDaemon, WAYS } from './ways.ts'

let root: string
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-walkthrough-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

for (const way of WAYS) {
test(`the README walk-through: grant, send while the owner is offline, sync, list, read (human and --json output) — ${way}`, async () => {
  const daemons: Record<string, any> = {}
  const steps = await walkthrough(undefined, { daemons: throughDaemon(way), onDaemon: (who, d) => { daemons[who] = d } })
  const by = (command: RegExp): NonNullable<(typeof steps)[number]['run']> => {
    const step = steps.find(s => command.test(s.command))
    assert.ok(step !== undefined, `no step ${String(command)}`)
    assert.equal(step.run.code, 0, step.run.stderr)
    return step.run
  }
  assert.match(by(/^ipms init$/).stdout, /^Your address: 12D3KooW\w+$/m)
  const grant = by(/hosts grant/).json
  assert.equal(grant.ok, true)
  assert.match(grant.grant, /^ipmsgrant\w+$/)
  assert.match(grant.card, /^ipmscard\w+$/)
  assert.equal(grant.accept, `ipms host accept ${String(grant.grant)} --card ${String(grant.card)}`)
  assert.match(by(/host accept/).stdout, /^Keeping the inbox of 12D3KooW\w+ \(difficulty 18 bits\)\.$/m)
  assert.match(by(/host accept/).stderr, /^The running daemon serves it now\.$/m)
  assert.equal(by(/^ipms card --json$/).json.hosts.length, 1)
  assert.match(by(/contacts add bob/).stdout, /^bob is 12D3KooW\w+ \(card with 1 host\)$/m)
  const sent = by(/^ipms send bob/)
  assert.match(sent.stdout, /^Sent to bob in [\d.]+ s\.\nReceipt: 12D3KooW\w+ stored it at \S+ \(entry zdpu\w+\)$/m)
  const entry = /\(entry (zdpu\w+)\)/.exec(sent.stdout)![1]!
  // Bob's daemon may have fetched the mail by itself (live, from the host) before `ipms sync` asked.
  const synced = by(/^ipms sync$/).stdout
  if (!throughDaemon(way) || !/^0 new mails\.$/m.test(synced)) assert.match(synced, new RegExp(`^1 new mail\\.\\n  ${entry.slice(-8)}  alice  Lunch\\?$`, 'm'))
  assert.match(by(/^ipms list$/).stdout, new RegExp(`^N ${entry.slice(-8)}  \\S+  alice\\s+25 B  Lunch\\?$`, 'm'))
  const read = by(/^ipms read 1$/).stdout
  assert.match(read, /^From: {4}alice \(12D3KooW\w+\) — signature verified$/m)
  assert.match(read, /^Subject: Lunch\?$/m)
  assert.match(read, /\n\nNoon at the usual place\?\n/)
  if (throughDaemon(way)) {
    // The send went through Alice's daemon (it reports the mail sent); Bob's daemon stored the mail.
    await daemons.alice.next((e: any) => e.event === 'sent' && e.receipts.length === 1)
    await daemons.bob.next((e: any) => e.event === 'mail' && e.entry === entry)
  }
})
}

/** The Maildir file (new/ or cur/) of the mail with short id `id`, if any. */
async function maildirFile (home: string, id: string): Promise<string | undefined> {
  for (const folder of ['new', 'cur']) {
    const name = (await readdir(join(home, 'Maildir', folder))).find(n => n.split('.')[1]?.endsWith(id) === true)
    if (name !== undefined) return join(home, 'Maildir', folder, name)
  }
  return undefined
}

for (const way of WAYS) {
test(`after the walk-through: reply, one thread, a delete made in the Maildir, a mail to a host that is down cancelled from the outbox — ${way}`, async () => {
  const dir = join(root, way.replace(/\W+/g, '-'))
  const [host, alice, bob] = await Promise.all([initHome(join(dir, 'host')), initHome(join(dir, 'alice'), ['--bits', '8']), initHome(join(dir, 'bob'), ['--bits', '8'])])
  const daemons: Daemon[] = []
  let hostDaemon: Daemon | undefined
  const run = async (who: { home: string }, args: string[], input?: string, exit = 0): Promise<Awaited<ReturnType<typeof ipms>>> => {
    const done = await ipms(who.home, args, input === undefined ? {} : { input })
    assert.equal(done.code, exit, `ipms ${args.join(' ')}: ${done.stderr}${done.stdout}`)
    return done
  }
  try {
    const started = await startDaemon(host.home, ['--listen', '/ip4/127.0.0.1/tcp/0'])
    hostDaemon = started
    await grantRunningHost(alice, host, started)
    const bobCard = (await grantRunningHost(bob, host, started)).card
    await run(alice, ['contacts', 'add', 'bob', bobCard])
    if (throughDaemon(way)) for (const who of [alice, bob]) daemons.push(await startDaemon(who.home, ['--listen', '/ip4/127.0.0.1/tcp/0']))

    await run(alice, ['send', 'bob', '-s', 'Lunch?'], 'Noon?\n')
    await run(bob, ['sync'])
    const [got] = (await run(bob, ['list', '--json'])).json.mail
    // Bob answers by the card the mail carried; Alice gets the reply in the same thread.
    assert.match((await run(bob, ['reply', got.id], 'Yes, noon.\n')).stdout, /^Sent to 12D3KooW\S+ in [\d.]+ s\./m)
    await run(alice, ['sync'])
    const answer = (await run(alice, ['list', '--json'])).json.mail.find((m: { subject: string }) => m.subject === 'Re: Lunch?')
    assert.ok(answer !== undefined, 'the reply came')
    const threads = (await run(alice, ['list', '--threads', '--json'])).json.threads
    assert.equal(threads.length, 1, JSON.stringify(threads))
    assert.deepEqual(threads[0].mail.map((m: { depth: number, received?: { subject: string }, sent?: { subject: string } }) => [m.depth, m.received !== undefined ? 'received' : 'sent', (m.received ?? m.sent)!.subject]),
      [[0, 'sent', 'Lunch?'], [1, 'received', 'Re: Lunch?']])
    assert.match((await run(alice, ['list', '--threads'])).stdout, new RegExp(`^N ${String(answer.id)} {2}\\S+ {2}└ `, 'm'))

    // Deleted in a mail tool: the Maildir file goes, and ipms lists it no more (--all still does).
    const file = await maildirFile(alice.home, answer.id)
    assert.ok(file !== undefined, 'the reply is in Alice\'s Maildir')
    await rm(file)
    assert.doesNotMatch((await run(alice, ['list'])).stdout, new RegExp(String(answer.id)))
    assert.deepEqual((await run(alice, ['list', '--json'])).json.mail.map((m: { id: string }) => m.id), [])
    assert.ok((await run(alice, ['list', '--all', '--json'])).json.mail.some((m: { id: string }) => m.id === answer.id))

    // The host goes down, and Bob is offline (online, his daemon would take the mail itself: mail
    // as chat): a new mail waits in the outbox, a retry says nothing went, rm cancels it.
    assert.equal(await hostDaemon.stop(), 0)
    hostDaemon = undefined
    if (throughDaemon(way)) assert.equal(await daemons.pop()!.stop(), 0)
    const waiting = await run(alice, ['send', 'bob', '-s', 'Dinner?', '--timeout', '5s'], 'At eight?\n', EXIT.UNREACHABLE)
    assert.match(waiting.stderr, /The mail waits in the outbox/)
    const [queued] = (await run(alice, ['outbox', '--json'])).json.outbox
    assert.equal(queued.subject, 'Dinner?')
    assert.match((await run(alice, ['outbox'])).stdout, new RegExp(`^${String(queued.id).slice(-8)}  to bob  "Dinner\\?"  since \\S+  0/1 receipts, 1 attempt, next `, 'm'))
    const retried = await run(alice, ['outbox', 'retry', '--timeout', '5s'], undefined, EXIT.UNREACHABLE)
    assert.match(retried.stdout, /^0 delivered, 1 still waiting\.$/m)
    assert.match((await run(alice, ['outbox', 'rm', String(queued.id).slice(-8)])).stdout, /^Gave up \w{8} to 12D3KooW\S+: it is no longer tried/)
    assert.deepEqual((await run(alice, ['outbox', '--json'])).json.outbox, [])
    assert.match((await run(alice, ['outbox'])).stdout, /^The outbox is empty/)
  } finally {
    for (const d of daemons) assert.equal(await d.stop(), 0)
    await hostDaemon?.stop()
  }
})
}
