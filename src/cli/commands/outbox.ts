/**
 * `ipms outbox`, `ipms outbox retry [id]` and `ipms outbox rm <id>`: mail waiting for a receipt, and
 * why; mail given up (too old, refused for good) stays listed with the reason until removed or
 * retried by its id. `retry` exits 69 (ERR_NO_HOST) when a mail it tried was not delivered. While a daemon runs,
 * both go through it (it owns the outbox: one mail is never delivered by two processes at once);
 * its answers are what `--json` prints here, so one formatter serves both paths.
 */
import type { outboxRow, retrySummary } from '../../daemon/views.ts'
import { NoHostError } from '../../errors.ts'
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
      : rows.map(r => `${r.id.slice(-8)}  to ${r.name ?? shortPeer(r.to)}${r.subject === undefined ? '' : `  "${r.subject}"`}  since ${isoTime(r.created)}  ${r.receipts}/${r.replicas} receipts, ${count(r.attempts, 'attempt')}, ${r.gaveUp === undefined
        ? `next ${isoTime(r.nextAttempt)}${r.lastError === undefined ? '' : `  (${r.lastError})`}`
        : `GIVEN UP ${isoTime(r.gaveUp.time)}: ${r.gaveUp.reason} (ipms outbox retry ${r.id.slice(-8)} tries again, ipms outbox rm ${r.id.slice(-8)} removes it)`}`))
  }
}

const retry: CliCommand = {
  command: 'retry [id]',
  describe: 'Try to deliver every waiting mail now (but the mail another ipms process is trying, and the mail given up), or the one named (given up or not); exit 69 when one tried was not delivered',
  options: y => y.positional('id', { type: 'string', describe: 'Only this mail (its id in ipms outbox, or the end of it), even if given up' }).option('timeout', TIMEOUT_OPTION),
  examples: [['ipms outbox retry', 'without waiting for the backoff'], ['ipms outbox retry --timeout 5s', 'giving each host 5 s'], ['ipms outbox retry 7yq3x2ab', 'that mail only, even if it was given up']],
  run: async (args, context) => {
    const { home, out, signal, daemon } = context
    const timeoutMs = timeoutOf(args)
    const id = typeof args.id === 'string' ? args.id : undefined
    const api = await daemon()
    const summary = api !== undefined
      ? await api.post('/outbox/retry', { force: true, timeoutMs, ...(id === undefined ? {} : { id }) }, { signal }) as unknown as RetrySummary
      : await (await here()).retryHere(home, await context.config(), { signal, timeoutMs, ...(id === undefined ? {} : { id }) })
    const { delivered, failed, gaveUp, busy, waiting } = summary
    const lines = [
      `${delivered.length} delivered, ${waiting.length} still waiting${gaveUp.length === 0 ? '' : `, ${gaveUp.length} given up`}${busy.length === 0 ? '' : `, ${busy.length} being tried by another ipms process`}.`,
      ...waiting.map(e => `${e.id.slice(-8)}: ${e.lastError ?? 'not tried yet'}`),
      ...gaveUp.map(e => `${e.id.slice(-8)}: given up: ${e.reason}`)
    ]
    // Exit 0 only when every mail this retry tried went (or there was none to try): mail another
    // process was trying is that process's to report.
    if (failed.length === 0) {
      out.result({ ...summary }, lines)
      return
    }
    if (!out.json) out.result({}, lines)
    throw new NoHostError(`${failed.length} of the ${count(failed.length + delivered.length, 'mail')} tried not delivered (${failed.map(f => f.slice(-8)).join(', ')})${waiting.length === 0 ? '' : ': they wait in the outbox and are retried later'}`, summary)
  }
}

type RetrySummary = ReturnType<typeof retrySummary>

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
    out.result({ cancelled: given }, `Gave up ${given.id.slice(-8)} to ${shortPeer(given.to)}: it is no longer tried (removed from the outbox).`)
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
