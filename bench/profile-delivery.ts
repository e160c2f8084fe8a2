/**
 * Profiling harness (not a bench section): deliveries into 1 or N inboxes from a sender worker
 * thread (bench/sender-worker.ts), 8 in flight. Run with --cpu-prof to see the host thread's time.
 *   node bench/profile-delivery.ts [count] [inboxes]
 */
import { Worker } from 'node:worker_threads'
import { createIdentity } from '../src/identity/identity.ts'
import { startReplica } from '../test/helpers/replicas.ts'

const COUNT = Number(process.argv[2] ?? 1000)
const INBOXES = Number(process.argv[3] ?? 1)
const owners = await Promise.all(Array.from({ length: INBOXES }, async () => (await createIdentity()).peerId))
const host = await startReplica({ policy: { deliveriesPerWindow: 1e9 } })
for (const o of owners) await host.inbox(o, 0)
const worker = new Worker(new URL('./sender-worker.ts', import.meta.url), {
  workerData: { host: host.node.multiaddrs()[0], hostId: host.node.peerId, batches: { warm: { owners, count: 100 }, run: { owners, count: COUNT } }, warmup: 'warm', inFlight: 8, bits: 0 }
})
await new Promise(resolve => worker.once('message', resolve))
const elu = performance.eventLoopUtilization()
const cpu = process.cpuUsage()
const t = performance.now(); console.log('WINDOW_START', Number(process.hrtime.bigint() / 1000n))
worker.postMessage({ run: 'run' })
await new Promise(resolve => worker.once('message', resolve))
const ms = performance.now() - t; console.log('WINDOW_END', Number(process.hrtime.bigint() / 1000n))
const used = process.cpuUsage(cpu)
console.log(`${COUNT} deliveries into ${INBOXES} inbox(es): ${(COUNT / ms * 1000).toFixed(0)}/s; host thread busy ${(performance.eventLoopUtilization(elu).utilization * 100).toFixed(0)}%, process CPU ${((used.user + used.system) / COUNT).toFixed(0)} µs per delivery (all threads)`)
worker.postMessage({})
await new Promise(resolve => worker.once('exit', resolve))
await host.cleanup()
