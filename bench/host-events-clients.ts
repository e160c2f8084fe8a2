/**
 * The phones of bench/host-events.ts, in a process of their own (so that the host's RSS is the
 * host's): N owners, each with a grant for the host printed as one JSON line; then, on `go` from
 * stdin, each opens its event stream (watchHost, plain HTTP); `open` once all are connected; then
 * one line `{ entry, at }` per `mail` event (`at`: performance.timeOrigin + performance.now(), ms,
 * comparable with the host's process on one machine).
 *
 *   node bench/host-events-clients.ts <host URL> <host peer-id> <host multiaddr> <N>
 */
import { EventEmitter, once } from 'node:events'
import { createInterface } from 'node:readline'
import { createCard, encodeCard } from '../src/hosting/card.ts'
import { createGrant, encodeGrant } from '../src/hosting/grant.ts'
import { createIdentity, type Identity } from '../src/identity/identity.ts'
import { httpTransport, watchHost } from '../src/host-events/client.ts'

const [url, hostPeer, hostAddr, count] = process.argv.slice(2)
const n = Number(count)
const owners: Identity[] = []
for (let i = 0; i < n; i++) owners.push(await createIdentity())
process.stdout.write(`${JSON.stringify(owners.map(o => ({
  owner: o.peerId,
  grant: encodeGrant(createGrant(o, hostPeer!)),
  card: encodeCard(createCard(o, [{ peer: hostPeer!, addrs: [hostAddr!] }], 8))
})))}\n`)

const lines = createInterface({ input: process.stdin })
const now = (): number => performance.timeOrigin + performance.now()
for await (const line of lines) {
  if (line !== 'go') continue
  const controller = new AbortController()
  let connected = 0
  const progress = new EventEmitter()
  const transport = httpTransport(url!)
  const watch = async (owner: Identity): Promise<void> => {
    for await (const item of watchHost({ identity: owner, transport, signal: controller.signal })) {
      if (item.type === 'connected') {
        if (++connected === n) process.stdout.write('open\n')
        progress.emit('connected')
      }
      if (item.type === 'mail') process.stdout.write(`${JSON.stringify({ entry: item.data.entry, at: now() })}\n`)
      if (item.type === 'disconnected') process.stderr.write(`dropped: ${item.error}\n`)
    }
  }
  // Opened 25 at a time: each is a handshake (two requests and two signatures).
  for (let i = 0; i < n; i += 25) {
    const batch = owners.slice(i, i + 25)
    const before = connected
    for (const owner of batch) void watch(owner)
    while (connected < before + batch.length) await once(progress, 'connected')
  }
}
