/**
 * `ipms watch --host <URL | host peer-id | multiaddr>` (events.ts switches to it): what a phone app
 * does, from a terminal. It connects to one host's event stream as the owner (docs/PROTOCOL.md
 * §15; plain HTTP to a URL, libp2p to a host of the owner's card or a multiaddr), prints each event,
 * and on `mail` (and on `reset`) runs the owner's sync: through the daemon when one runs, else
 * here, as `ipms sync` does. A dropped connection is resumed after the last event printed. Runs
 * until Ctrl-C; exit 67 (ERR_NOT_FOUND: the host keeps no inbox of yours) or 77 (ERR_UNAUTHORIZED).
 */
import { NotFoundError } from '../../errors.ts'
import { parsePeerId } from '../../identity/peer-id.ts'
import { httpTransport, watchHost, type HostTransport, type WatchItem } from '../../host-events/client.ts'
import type { CardHost } from '../../hosting/card.ts'
import { count, humanBytes, shortPeer } from '../command.ts'
import type { CliContext } from '../context.ts'

/** The transport to what `--host` names, and the host's peer-id when known. */
async function transportTo (target: string, context: CliContext): Promise<{ transport: HostTransport, hostPeer?: string }> {
  if (/^https?:\/\//i.test(target)) return { transport: httpTransport(target) }
  let host: CardHost
  if (target.startsWith('/')) {
    const peer = /\/p2p\/([^/]+)$/.exec(target)?.[1]
    if (peer === undefined) throw new NotFoundError(`--host ${target}: a multiaddr needs the host's /p2p/<peer-id> at its end`)
    host = { peer: parsePeerId(peer).peerId, addrs: [target] }
  } else {
    const peer = parsePeerId(target).peerId
    const granted = (await (await context.ownerHosts()).list()).find(h => h.peer === peer)
    if (granted === undefined || granted.addrs.length === 0) {
      throw new NotFoundError(`--host ${target} is not one of your hosts with an address (ipms hosts list): give its URL (http://…) or its multiaddr`)
    }
    host = { peer, addrs: granted.addrs }
  }
  const { libp2pTransport } = await import('../../host-events/libp2p-client.ts')
  return { transport: await libp2pTransport(host), hostPeer: host.peer }
}

/** One line per event. */
function describe (item: WatchItem): string {
  switch (item.type) {
    case 'connected': return `connected to ${item.host}: waiting for mail`
    case 'disconnected': return `lost ${item.host} (${item.error}); trying again in ${Math.round(item.retryMs / 100) / 10} s`
    case 'mail': return `mail at the host: ${humanBytes(item.data.size)}, entry ${shortPeer(item.data.entry)}`
    case 'pruned': return `${count(item.data.envelopes.length, 'mail')} dropped at the host (${item.data.reason === 'read' ? 'read' : 'past its retention'})`
    case 'reset': return 'missed events (the host restarted, or was away too long): syncing'
  }
}

export async function watchHostCommand (target: string, context: CliContext): Promise<void> {
  const { out, signal } = context
  const identity = await context.identity()
  const { transport, hostPeer } = await transportTo(target, context)
  /** Syncs one at a time; mail that comes during one is fetched by one more after it. */
  let syncing: Promise<void> | undefined
  let again = false
  const syncOnce = async (): Promise<void> => {
    const api = await context.daemon()
    const result = api !== undefined
      ? await api.stream('/sync', {}, () => {}, { signal }) as unknown as { received: Array<{ id: string, from: string, name?: string, subject: string }> }
      : await (await import('./sync-local.ts')).syncHere(context, true, 120_000)
    out.event('synced', { received: result.received }, [
      `synced: ${count(result.received.length, 'new mail')}`,
      ...result.received.map(r => `  ${r.id}  ${r.name ?? shortPeer(r.from)}  ${r.subject === '' ? '(no subject)' : r.subject}`)
    ].join('\n'))
  }
  const sync = (): void => {
    if (syncing !== undefined) { again = true; return }
    syncing = (async () => {
      do {
        again = false
        try {
          await syncOnce()
        } catch (err) {
          if (signal.aborted) return
          out.event('sync-failed', { code: (err as { code?: string }).code, message: (err as Error).message }, `sync failed: ${(err as Error).message}`)
        }
      } while (again && !signal.aborted)
    })().finally(() => { syncing = undefined })
  }
  try {
    for await (const item of watchHost({ identity, transport, hostPeer, signal })) {
      const { type, ...data } = item
      out.event(type, data as Record<string, unknown>, describe(item))
      if (type === 'mail' || type === 'reset') sync()
    }
    await syncing
  } finally {
    await transport.close?.()
  }
}
