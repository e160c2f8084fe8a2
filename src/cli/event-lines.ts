/**
 * The daemon's events as lines: one formatter for `ipms daemon` (its own events) and `ipms events`
 * (the events a daemon streams through its API). For people: `TIME what happened`; with --json:
 * `{ time, event, eventId, ...data }`, one a line (`eventId` is what `ipms events --since` resumes
 * after; not `id`, which some events' data has: a mail's id, an outbox entry's).
 */
import type { DaemonEvent } from '../daemon/events.ts'
import { count, shortPeer } from './command.ts'
import type { Output } from './output.ts'

/** The line for people of each event. */
export function describeEvent (event: DaemonEvent, self: string): string {
  switch (event.type) {
    case 'started': return `ipms daemon for ${event.data.peerId} on ${event.data.addrs.join(' ')}; keeping ${count(event.data.hosted.length, 'friend\'s inbox', 'friends\' inboxes')}`
    case 'grant-skipped': return `grant ${event.data.file} not served: ${event.data.reason}`
    case 'bootstrap-failed': return `bootstrap ${event.data.address} unreachable: ${event.data.error}`
    case 'storage-full': return `disk full: refusing deliveries until space is freed (${event.data.message})`
    case 'storage-recovered': return 'disk space is back: accepting deliveries again'
    case 'mail': return `mail ${event.data.id} from ${event.data.name ?? shortPeer(event.data.from)} stored`
    case 'deleted': return `mail ${event.data.id} deleted`
    case 'seen': return `mail ${event.data.id} read`
    case 'quarantined': return `mail ${event.data.id} did not open (${event.data.code}); kept in quarantine`
    case 'hosted-mail': return `stored a mail for ${shortPeer(event.data.owner)}`
    case 'hosted-pruned': return `dropped ${count(event.data.count, 'mail')} read by ${shortPeer(event.data.owner)}`
    case 'hosting': return `now keeping the inbox of ${event.data.owner}`
    case 'host-dropped': return `no longer keeping the inbox of ${event.data.owner}: dropped ${count(event.data.entries, 'entry', 'entries')} and ${count(event.data.envelopes, 'envelope')}`
    case 'published': return `published the hosts record of ${event.data.owner === self ? 'this owner' : shortPeer(event.data.owner)} on ${count(event.data.peers, 'DHT peer')}`
    case 'publish-failed': return `hosts record of ${shortPeer(event.data.owner)} not published: ${event.data.message}`
    case 'co-host-failed': return `co-host ${shortPeer(event.data.host)} unreachable for ${shortPeer(event.data.inbox)}: ${event.data.error ?? ''}`
    case 'sent': return `outbox mail ${event.data.id.slice(-8)} delivered`
    case 'outbox': return `mail ${event.data.id.slice(-8)} waits in the outbox (${event.data.receipts} of ${count(event.data.replicas, 'receipt')}): ${event.data.lastError ?? ''}`
    case 'outbox-cancelled': return `outbox mail ${event.data.id.slice(-8)} cancelled`
    case 'outbox-gave-up': return `outbox mail ${event.data.id.slice(-8)} to ${shortPeer(event.data.to)} given up: ${event.data.reason}`
    case 'retention': return `dropped ${event.data.dropped} unread mail past the retention period`
    case 'error': return `${event.data.step} failed: ${event.data.message}`
    case 'stopping': return 'stopping: finishing what is under way'
    case 'stopped': return 'stopped'
  }
}

/**
 * Print one event (`self`: this home's peer-id). An event of a type this CLI does not know (a newer
 * daemon), or with a field missing, is printed by its type and data: never a crash mid-stream.
 */
export function printEvent (out: Output, event: { id: number, type: string, data: Record<string, unknown>, time?: number }, self: string): void {
  let human: string
  try {
    human = describeEvent(event as DaemonEvent, self) ?? `${event.type} ${JSON.stringify(event.data)}`
  } catch {
    human = `${event.type} ${JSON.stringify(event.data)}`
  }
  out.event(event.type, { eventId: event.id, ...event.data }, human, event.time)
}
