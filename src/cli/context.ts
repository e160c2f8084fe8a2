/**
 * What every command gets: the home, the output, a signal that Ctrl-C aborts, and lazy access to
 * the identity (asking for its passphrase only when it is encrypted), the config and the contacts;
 * and the daemon that holds the home, if one answers (src/api/client.ts), unless `--offline`.
 *
 * Each of these modules is imported when first used: a command answered by the daemon loads
 * neither the keystore nor the contacts (and what they import: libp2p's crypto, multiaddr).
 */
import { connectDaemon, type DaemonClient } from '../api/client.ts'
import type { HomeConfig } from '../home/config.ts'
import type { Contacts } from '../home/contacts.ts'
import type { OwnerHosts } from '../home/owner-hosts.ts'
import type { Identity } from '../identity/identity.ts'
import type { Output } from './output.ts'

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
    const { loadIdentity, readIdentityInfo } = await import('../identity/keystore.ts')
    const info = await readIdentityInfo(home)
    if (!info.encrypted) return await loadIdentity(home)
    const { withPassphrase } = await import('./prompt.ts')
    return await withPassphrase(`Passphrase for ${info.peerId}: `, async passphrase => await loadIdentity(home, { passphrase }), signal)
  }
  let contacts: Promise<Contacts> | undefined
  const openedContacts = async (): Promise<Contacts> => await (contacts ??= import('../home/contacts.ts').then(m => m.openContacts(home)))
  const context: CliContext = {
    home,
    out,
    signal,
    identity: async () => await (identity ??= loadOwnIdentity()),
    config: async () => await (config ??= import('../home/config.ts').then(async m => await m.loadConfig(home))),
    contacts: lazyContacts(openedContacts),
    ownerHosts: async () => {
      const [{ openOwnerHosts }, { readIdentityInfo }] = await Promise.all([import('../home/owner-hosts.ts'), import('../identity/keystore.ts')])
      return openOwnerHosts(home, { peerId: (await readIdentityInfo(home)).peerId, bits: (await context.config()).bits, signer: context.identity })
    },
    daemon: async () => options.offline === true ? undefined : await (daemon ??= connectDaemon(home, { signal }))
  }
  return context
}

/** A Contacts whose every method (all async) first opens the real one (tsc names any method added later). */
function lazyContacts (open: () => Promise<Contacts>): Contacts {
  const method = <K extends keyof Contacts>(name: K): Contacts[K] => (async (...args: unknown[]) => await ((await open())[name] as (...a: unknown[]) => Promise<unknown>)(...args)) as Contacts[K]
  return { list: method('list'), add: method('add'), remove: method('remove'), nameOf: method('nameOf'), names: method('names'), resolve: method('resolve'), learnCard: method('learnCard'), issuePass: method('issuePass'), issued: method('issued') }
}
