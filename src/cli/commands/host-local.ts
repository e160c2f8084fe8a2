/**
 * What `ipms host list` (host.ts) does when no daemon answers: the home's node started for it
 * (the home locked, nothing dialled), each kept inbox opened in turn to be counted, the node
 * stopped. Imported only then: its node modules take most of a second to load.
 */
import { startHomeNode } from '../../node/home-node.ts'
import type { HostedInboxReport } from '../../node/hosting.ts'
import type { CliContext } from '../context.ts'

/** The kept inboxes with their figures, and the grant files that cannot be used. */
export async function hostedHere (context: CliContext): Promise<{ hosted: Array<Omit<HostedInboxReport, 'address'> & { inbox: string }>, skipped: Array<{ file: string, reason: string }> }> {
  const { home, signal } = context
  const config = await context.config()
  // Only counts what is here: no DHT, no bootstrap, loopback.
  const running = await startHomeNode({ home, identity: await context.identity(), config: { ...config, dht: false, mdns: false, bootstrap: [] }, listen: ['/ip4/127.0.0.1/tcp/0'], signal })
  try {
    const reports = await running.hosting.report({ signal })
    return { hosted: reports.map(({ address, ...rest }) => ({ ...rest, inbox: address })), skipped: [...running.hosting.skipped] }
  } finally {
    await running.stop()
  }
}
