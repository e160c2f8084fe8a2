/**
 * A LAN of network namespaces for tests that need multicast (mDNS): one namespace per node, each
 * with a veth into a bridge in a hub namespace, addresses 10.<x>.0.<n>/24 and a multicast route.
 * Nothing touches the machine's own namespace beyond creating the veth pairs, so multicast never
 * leaves the test's namespaces. Needs root (as on these machines and in CI).
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)
const ip = async (...args: string[]): Promise<void> => { await run('ip', args) }

export interface Lan {
  /** Per node: its namespace, its address, and the prefix that runs a command inside it. */
  nodes: Array<{ ns: string, address: string, wrap: string[] }>
  destroy: () => Promise<void>
}

/** Create a LAN of `count` nodes. Names are unique to this process. */
export async function createLan (count: number): Promise<Lan> {
  const tag = `${process.pid % 10000}${Math.floor(Math.random() * 100)}`
  const subnet = 10 + (process.pid % 200)
  const hub = `ipms-hub-${tag}`
  const created: string[] = []
  const destroy = async (): Promise<void> => {
    for (const ns of created.reverse()) await ip('netns', 'del', ns).catch(() => {})
  }
  try {
    await ip('netns', 'add', hub)
    created.push(hub)
    await ip('-n', hub, 'link', 'add', 'br0', 'type', 'bridge')
    await ip('-n', hub, 'link', 'set', 'br0', 'up')
    const nodes: Lan['nodes'] = []
    for (let i = 0; i < count; i++) {
      const ns = `ipms-lan-${tag}-${i}`
      const address = `10.${subnet}.0.${i + 2}`
      await ip('netns', 'add', ns)
      created.push(ns)
      // Both ends are created inside the namespaces: the veth names stay private to them.
      await ip('-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', hub)
      await ip('-n', hub, 'link', 'set', `p${i}`, 'master', 'br0')
      await ip('-n', hub, 'link', 'set', `p${i}`, 'up')
      await ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0')
      await ip('-n', ns, 'link', 'set', 'eth0', 'up')
      await ip('-n', ns, 'link', 'set', 'lo', 'up')
      await ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0')
      nodes.push({ ns, address, wrap: ['ip', 'netns', 'exec', ns] })
    }
    return { nodes, destroy }
  } catch (err) {
    await destroy()
    throw err
  }
}
