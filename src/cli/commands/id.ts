/**
 * `ipms id`: who this home is and where it is reachable. Needs no passphrase. Through the daemon
 * when one runs (its `/id` and `/hosts`), else from the home's files; the same output either way.
 */
import type { GrantedHost } from '../../home/owner-hosts.ts'
import type { CliCommand } from '../command.ts'

export const id: CliCommand = {
  command: 'id',
  examples: [['ipms id', 'print your address'], ['ipms id --json | jq -r .peerId', 'just the peer-id, for scripts']],
  run: async (_args, context) => {
    const { home, out, signal } = context
    const api = await context.daemon()
    let info: { peerId: string, encrypted: boolean }, inbox: string, bits: number, hosts: GrantedHost[], listening: string[]
    if (api !== undefined) {
      // The daemon answers all of it in one request: this process loads no key-file or address code (a third of a cold run).
      const running = await api.get('/id', { signal })
      info = { peerId: String(running.peerId), encrypted: running.encrypted === true }
      inbox = String(running.inbox)
      bits = Number(running.bits)
      listening = running.addrs as string[]
      // A daemon started by an older version answers /id without its hosts.
      hosts = (Array.isArray(running.hosts) ? running.hosts : (await api.get('/hosts', { signal })).hosts) as GrantedHost[]
    } else {
      const [{ readIdentityInfo }, { inboxAddress }, { readDaemonInfo }] = await Promise.all([import('../../identity/keystore.ts'), import('../../access/inbox-address.ts'), import('../daemon-file.ts')])
      info = await readIdentityInfo(home)
      const config = await context.config()
      bits = config.bits
      inbox = inboxAddress(info.peerId, bits)
      hosts = await (await context.ownerHosts()).list()
      listening = (await readDaemonInfo(home))?.addrs ?? []
    }
    out.result({ peerId: info.peerId, inbox, bits, encrypted: info.encrypted, home, hosts: hosts.map(h => ({ peer: h.peer, addrs: h.addrs, expires: h.expires })), listening }, [
      `Address:   ${info.peerId}`,
      `Inbox:     ${inbox} (difficulty ${bits} bits)`,
      `Home:      ${home}${info.encrypted ? ' (key encrypted)' : ''}`,
      hosts.length === 0 ? 'Hosts:     none (ipms hosts grant <peer-id> --addr <multiaddr>)' : `Hosts:     ${hosts.map(h => `${h.peer} at ${h.addrs.join(', ')}`).join('\n           ')}`,
      listening.length === 0 ? 'Listening: no daemon runs on this home' : `Listening: ${listening.join('\n           ')}`
    ])
  }
}
