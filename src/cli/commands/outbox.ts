/** `ipms outbox` and `ipms outbox retry`: mail waiting for a receipt, and why. */
import { outboxRow, retrySummary } from '../../daemon/views.ts'
import { openOutbox } from '../../node/outbox.ts'
import { count, isoTime, shortPeer, type CliCommand } from '../command.ts'
import { TIMEOUT_OPTION, timeoutOf } from './send.ts'

const show: CliCommand = {
  command: '$0',
  describe: 'List the mail waiting for a receipt',
  examples: [['ipms outbox', 'each waiting mail, its attempts and last error']],
  run: async (_args, { home, out, contacts }) => {
    const waiting = await openOutbox(home).list()
    const names = await contacts.names()
    const rows = waiting.map(e => outboxRow(e, names))
    out.result({ outbox: rows }, rows.length === 0
      ? ['The outbox is empty: everything sent has its receipts.']
      : rows.map(r => `${r.id.slice(-8)}  to ${r.name ?? shortPeer(r.to)}  since ${isoTime(r.created)}  ${r.receipts}/${r.replicas} receipts, ${count(r.attempts, 'attempt')}, next ${isoTime(r.nextAttempt)}${r.lastError === undefined ? '' : `  (${r.lastError})`}`))
  }
}

const retry: CliCommand = {
  command: 'retry',
  describe: 'Try to deliver every waiting mail now (but the mail another ipms process is trying)',
  options: y => y.option('timeout', TIMEOUT_OPTION),
  examples: [['ipms outbox retry', 'without waiting for the backoff'], ['ipms outbox retry --timeout 5s', 'giving each host 5 s']],
  run: async (args, { home, out, signal }) => {
    const outbox = openOutbox(home)
    const delivered = await outbox.retry({ force: true, signal, timeoutMs: timeoutOf(args) })
    const left = await outbox.list()
    out.result(retrySummary(delivered, left), [
      `${delivered.length} delivered, ${left.length} still waiting.`,
      ...left.map(e => `${e.id.slice(-8)}: ${e.lastError ?? 'not tried yet'}`)
    ])
  }
}

export const outbox: CliCommand = {
  command: 'outbox',
  subcommands: [show, retry]
}
