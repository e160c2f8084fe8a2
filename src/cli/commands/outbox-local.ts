/**
 * The outbox's side of `ipms outbox` and `ipms outbox retry` (outbox.ts): what they do when no
 * daemon answers. Imported only then: a command answered by the daemon does not load the outbox.
 */
import { outboxRow, retrySummary, sentSubjects } from '../../daemon/views.ts'
import { openMailStore } from '../../mail/mail-store.ts'
import type { Contacts } from '../../home/contacts.ts'
import { destinationOfEntry, openOutbox } from '../../node/outbox.ts'

/** `ipms outbox --json`'s rows. */
export async function outboxRows (home: string, contacts: Contacts): Promise<Array<ReturnType<typeof outboxRow>>> {
  const waiting = await openOutbox(home).list()
  const names = await contacts.names()
  const subjects = sentSubjects(await openMailStore(home, { maildir: false }).sent())
  return waiting.map(e => outboxRow(e, names, subjects))
}

/** Give up a waiting mail; what `outbox rm --json` prints. */
export async function cancelHere (home: string, id: string): Promise<{ id: string, to: string }> {
  const entry = await openOutbox(home).cancel(id)
  return { id: entry.id, to: destinationOfEntry(entry).owner }
}

/** Every waiting mail tried now (but the mail another process is trying); what `outbox retry --json` prints. */
export async function retryHere (home: string, options: { signal: AbortSignal, timeoutMs: number }): Promise<ReturnType<typeof retrySummary>> {
  const outbox = openOutbox(home)
  return retrySummary(await outbox.retry({ force: true, ...options }), await outbox.list())
}
