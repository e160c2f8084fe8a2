/**
 * What every command gets: the home, the output, a signal that Ctrl-C aborts, and lazy access to
 * the identity (asking for its passphrase only when it is encrypted), the config and the contacts;
 * and the daemon that holds the home, if one answers (src/api/client.ts), unless `--offline`.
 */
import { connectDaemon, type DaemonClient } from '../api/client.ts'
import { loadConfig, type HomeConfig } from '../home/config.ts'
import { openContacts, type Contacts } from '../home/contacts.ts'
import { openOwnerHosts, type OwnerHosts } from '../home/owner-hosts.ts'
import type { Identity } from '../identity/identity.ts'
import { loadIdentity, readIdentityInfo } from '../identity/keystore.ts'
import type { Output } from './output.ts'
import { passphrase } from './prompt.ts'

export interface CliContext {
  home: string
  out: Output
  /** Aborted by SIGINT / SIGTERM. */
  signal: AbortSignal
  identity: () => Promise<Identity>
  config: () => Promise<HomeConfig>
  contacts: Contacts
  ownerHosts: () => Promise<OwnerHosts>
  /**
   * The client of the daemon running on this home, or undefined (none runs, a stale one was
   * cleared, or `--offline`): then the command opens the home itself.
   */
  daemon: () => Promise<DaemonClient | undefined>
}

export function createContext (home: string, out: Output, signal: AbortSignal, options: { offline?: boolean } = {}): CliContext {
  let identity: Promise<Identity> | undefined
  let daemon: Promise<DaemonClient | undefined> | undefined
  let config: Promise<HomeConfig> | undefined
  const loadOwnIdentity = async (): Promise<Identity> => {
    const info = await readIdentityInfo(home)
    if (!info.encrypted) return await loadIdentity(home)
    return await loadIdentity(home, { passphrase: await passphrase(`Passphrase for ${info.peerId}: `, signal) })
  }
  const context: CliContext = {
    home,
    out,
    signal,
    identity: async () => await (identity ??= loadOwnIdentity()),
    config: async () => await (config ??= loadConfig(home)),
    contacts: openContacts(home),
    ownerHosts: async () => openOwnerHosts(home, { peerId: (await readIdentityInfo(home)).peerId, bits: (await context.config()).bits, signer: context.identity }),
    daemon: async () => options.offline === true ? undefined : await (daemon ??= connectDaemon(home, { signal }))
  }
  return context
}
