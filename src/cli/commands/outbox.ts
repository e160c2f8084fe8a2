/**
 * `ipms outbox` and `ipms outbox retry`: mail waiting for a receipt, and why. While a daemon runs,
 * both go through it (it owns the outbox: one mail is never delivered by two processes at once);
 * its answers are what `--json` prints here, so one formatter serves both paths.
 */
import type { outboxRow } from '../../daemon/views.ts'
import { count, isoTime, shortPeer, TIMEOUT_OPTION, timeoutOf, type CliCommand } from '../command.ts'

/** One line of `ipms outbox` (and of the API's `/outbox`). */
type OutboxRow = ReturnType<typeof outboxRow>

/** The outbox's side, loaded only when no daemon answers (most of the start-up time otherwise). */
const here = async (): Promise<typeof import('./outbox-local.ts')> => await import('./outbox-local.ts')

const show: CliCommand = {
  command: '$0',
  describe: 'List the mail waiting for a receipt',
  examples: [['ipms outbox', 'each waiting mail, its attempts and last error']],
  run: async (_args, { home, out, contacts, daemon, signal }) => {
    const api = await daemon()
    const rows = api !== undefined ? (await api.get('/outbox', { signal })).outbox as OutboxRow[] : await (await here()).outboxRows(home, contacts)
    out.result({ outbox: rows }, rows.length === 0
      ? ['The outbox is empty: everything sent has its receipts.']
      : rows.map(r => `${r.id.slice(-8)}  to ${r.name ?? shortPeer(r.to)}${r.subject === undefined ? '' : `  "${r.subject}"`}  since ${isoTime(r.created)}  ${r.receipts}/${r.replicas} receipts, ${count(r.attempts, 'attempt')}, next ${isoTime(r.nextAttempt)}${r.lastError === undefined ? '' : `  (${r.lastError})`}`))
  }
}

const retry: CliCommand = {
  command: 'retry',
  describe: 'Try to deliver every waiting mail now (but the mail another ipms process is trying)',
  options: y => y.option('timeout', TIMEOUT_OPTION),
  examples: [['ipms outbox retry', 'without waiting for the backoff'], ['ipms outbox retry --timeout 5s', 'giving each host 5 s']],
  run: async (args, { home, out, signal, daemon }) => {
    const timeoutMs = timeoutOf(args)
    const api = await daemon()
    let delivered: string[], waiting: Array<{ id: string, lastError?: string }>
    if (api !== undefined) {
      const answer = await api.post('/outbox/retry', { force: true, timeoutMs }, { signal })
      delivered = (answer.delivered as unknown[]).map(d => typeof d === 'string' ? d : String((d as { id?: unknown }).id))
      waiting = answer.waiting as typeof waiting
    } else {
      ;({ delivered, waiting } = await (await here()).retryHere(home, { signal, timeoutMs }))
    }
    out.result({ delivered, waiting }, [
      `${delivered.length} delivered, ${waiting.length} still waiting.`,
      ...waiting.map(e => `${e.id.slice(-8)}: ${e.lastError ?? 'not tried yet'}`)
    ])
  }
}

const cancel: CliCommand = {
  command: 'rm <id>',
  describe: 'Give up a waiting mail: it is not tried again (it stays in your sent mail)',
  options: y => y.positional('id', { type: 'string', describe: 'Its id in ipms outbox (or the end of it)' }),
  examples: [['ipms outbox rm 7yq3x2ab', 'stop trying to deliver that mail']],
  run: async (args, { home, out, signal, daemon }) => {
    const id = String(args.id)
    const api = await daemon()
    const given = api !== undefined
      ? await api.post(`/outbox/${encodeURIComponent(id)}/rm`, {}, { signal }) as { id: string, to: string }
      : await (await here()).cancelHere(home, id)
    out.result({ cancelled: given }, `Gave up ${given.id.slice(-8)} to ${shortPeer(given.to)}: it is no longer tried.`)
  }
}

export const outbox: CliCommand = {
  command: 'outbox',
  subcommands: [show, retry, cancel],
  examples: [
    ['ipms outbox', 'mail waiting for a receipt, and why'],
    ['ipms outbox retry', 'try them now'],
    ['ipms outbox rm 7yq3x2ab', 'give one up']
  ]
}
