/**
 * The README's quick start, end to end through the real `ipms` binary in child processes: three
 * homes (Alice, Bob, a friend's host), Bob grants the host, Alice sends while Bob is offline, Bob
 * syncs and reads. `npm start` runs the same steps. Run twice: with each command opening its home,
 * and with a daemon on every home, so that the commands go through the daemons' local API; the
 * output is the same (but for what Bob's daemon already fetched before `ipms sync` asked).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { walkthrough } from '../../examples/walkthrough.ts'
import { throughDaemon, WAYS } from './ways.ts'

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
