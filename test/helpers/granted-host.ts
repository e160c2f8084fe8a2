/**
 * A host's home keeping many granted inboxes, for tests of one store per home: its identity, a
 * config for loopback tests, and one kept grant per owner (as `ipms host accept` keeps them), ready
 * for `ipms daemon`. Plus a runner of many jobs a few at a time (deliveries, syncs).
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createGrant, encodeGrant } from '../../src/hosting/grant.ts'
import { createIdentity, type Identity } from '../../src/identity/identity.ts'
import { saveIdentity } from '../../src/identity/keystore.ts'
import { keepGrant } from '../../src/node/hosting.ts'
import { makeTempHome } from './nodes.ts'

export interface GrantedHost {
  home: string
  host: Identity
  /** The owners whose inboxes the home keeps, each under a grant (no expiry). */
  owners: Identity[]
}

/**
 * A new home (the caller removes it) keeping `count` inboxes at `bits`; no DHT (nothing to find on
 * loopback) and no delivery rate limit (every test delivery comes from 127.0.0.1).
 */
export async function grantedHostHome (count: number, bits: number, prefix = 'ipms-granted-host-'): Promise<GrantedHost> {
  const home = await makeTempHome(prefix)
  const host = await createIdentity()
  const owners = await Promise.all(Array.from({ length: count }, async () => await createIdentity()))
  await saveIdentity(home, host)
  await writeFile(join(home, 'config.json'), JSON.stringify({ bits, dht: false, hostPolicy: { deliveriesPerMinute: 100_000 } }))
  for (const owner of owners) await keepGrant(home, host.peerId, encodeGrant(createGrant(owner, host.peerId)), { bits })
  return { home, host, owners }
}

/** Run `work` on every item, `concurrency` at a time, in order of the items. */
export async function eachLimited<T> (items: T[], concurrency: number, work: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) {
      const i = next++
      await work(items[i]!, i)
    }
  }))
}
