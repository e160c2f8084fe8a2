/**
 * The outbox's side of `ipms outbox` and `ipms outbox retry` (outbox.ts): what they do when no
 * daemon answers. Imported only then: a command answered by the daemon does not load the outbox.
 */
import { outboxRow, retrySummary, sentSubjects } from '../../daemon/views.ts'
import { openMailStore } from '../../mail/mail-store.ts'
import type { HomeConfig } from '../../home/config.ts'
import type { Contacts } from '../../home/contacts.ts'
import { destinationOfEntry, openOutbox } from '../../node/outbox.ts'
import { outboxSettings } from '../../node/resolve-recipient.ts'

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

/**
 * Every waiting mail tried now (but the mail another process is trying, and given-up mail), or only
 * the one `id` names (revived if given up), by the recipients' current cards; what `outbox retry --json` prints.
 */
export async function retryHere (home: string, config: HomeConfig, options: { signal: AbortSignal, timeoutMs: number, id?: string }): Promise<ReturnType<typeof retrySummary>> {
  const outbox = openOutbox(home, outboxSettings(home, config))
  return retrySummary(await outbox.retryReport({ force: true, ...options }), await outbox.list())
}
