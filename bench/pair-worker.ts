/**
 * Worker for bench/envelope.ts: seals and opens 1 KiB mails for `ms` milliseconds on its own
 * thread and reports how many pairs it did. Several run at once to measure all-core throughput.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { createIdentity } from '../src/identity/identity.ts'
import { openMail, sealMail } from '../src/mail/seal.ts'

const { ms, inbox } = workerData as { ms: number, inbox: string }
const [alice, bob] = await Promise.all([createIdentity(), createIdentity()])
const body = 'x'.repeat(1024)
const pair = async (): Promise<void> => {
  const sealed = await sealMail({ subject: 'bench', body }, { from: alice, to: bob.peerId, inbox })
  openMail(sealed.envelope, { identity: bob, inbox })
}
for (let i = 0; i < 300; i++) await pair()
// Start together: wait for the go signal so that thread start-up is not measured.
parentPort!.postMessage({ ready: true })
parentPort!.once('message', async () => {
  let pairs = 0
  const start = performance.now()
  while (performance.now() - start < ms) {
    for (let i = 0; i < 20; i++) await pair()
    pairs += 20
  }
  parentPort!.postMessage({ pairs, seconds: (performance.now() - start) / 1000 })
})
