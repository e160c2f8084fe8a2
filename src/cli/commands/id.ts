/** `ipms id`: who this home is and where it is reachable. Needs no passphrase. */
import { inboxAddress } from '../../access/inbox-address.ts'
import { readIdentityInfo } from '../../identity/keystore.ts'
import type { CliCommand } from '../command.ts'
import { readDaemonInfo } from '../daemon-file.ts'

export const id: CliCommand = {
  command: 'id',
  examples: [['ipms id', 'print your address'], ['ipms id --json | jq -r .peerId', 'just the peer-id, for scripts']],
  run: async (_args, context) => {
    const { home, out } = context
    const info = await readIdentityInfo(home)
    const config = await context.config()
    const inbox = inboxAddress(info.peerId, config.bits)
    const hosts = await (await context.ownerHosts()).list()
    const daemon = await readDaemonInfo(home)
    const listening = daemon?.addrs ?? []
    out.result({ peerId: info.peerId, inbox, bits: config.bits, encrypted: info.encrypted, home, hosts: hosts.map(h => ({ peer: h.peer, addrs: h.addrs, expires: h.expires })), listening }, [
      `Address:   ${info.peerId}`,
      `Inbox:     ${inbox} (difficulty ${config.bits} bits)`,
      `Home:      ${home}${info.encrypted ? ' (key encrypted)' : ''}`,
      hosts.length === 0 ? 'Hosts:     none (ipms hosts grant <peer-id> --addr <multiaddr>)' : `Hosts:     ${hosts.map(h => `${h.peer} at ${h.addrs.join(', ')}`).join('\n           ')}`,
      listening.length === 0 ? 'Listening: no daemon runs on this home' : `Listening: ${listening.join('\n           ')}`
    ])
  }
}
