/**
 * The outbox's side of `ipms outbox` and `ipms outbox retry` (outbox.ts): what they do when no
 * daemon answers. Imported only then: a command answered by the daemon does not load the outbox.
 */
import { outboxRow, retrySummary } from '../../daemon/views.ts'
import type { Contacts } from '../../home/contacts.ts'
import { openOutbox } from '../../node/outbox.ts'

/** `ipms outbox --json`'s rows. */
export async function outboxRows (home: string, contacts: Contacts): Promise<Array<ReturnType<typeof outboxRow>>> {
  const waiting = await openOutbox(home).list()
  const names = await contacts.names()
  return waiting.map(e => outboxRow(e, names))
}

/** Every waiting mail tried now (but the mail another process is trying); what `outbox retry --json` prints. */
export async function retryHere (home: string, options: { signal: AbortSignal, timeoutMs: number }): Promise<ReturnType<typeof retrySummary>> {
  const outbox = openOutbox(home)
  return retrySummary(await outbox.retry({ force: true, ...options }), await outbox.list())
}
