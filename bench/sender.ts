/**
 * The sending side of the delivery benchmarks on a worker thread (bench/sender-worker.ts seals and
 * stamps its batches before 'ready', then delivers a batch when asked), so that the host measured
 * in this thread is not slowed by the sender's own work.
 */
import { Worker } from 'node:worker_threads'
import type { SenderWorkerData } from './sender-worker.ts'

/** The sending side on a worker thread: `run(name)` resolves with that batch's receipts. */
export function startSender (data: SenderWorkerData): { ready: Promise<void>, run: (name: string) => Promise<number>, stop: () => Promise<void> } {
  const worker = new Worker(new URL('./sender-worker.ts', import.meta.url), { workerData: data })
  const waiting = new Map<string, { resolve: (n: number) => void, reject: (e: Error) => void }>()
  const failed = new Promise<never>((_resolve, reject) => { worker.once('error', reject) })
  failed.catch(() => {})
  let ready: () => void = () => {}
  const readyPromise = new Promise<void>(resolve => { ready = resolve })
  worker.on('message', (message: { ready?: boolean, name?: string, receipts?: number, error?: string }) => {
    if (message.ready === true) { ready(); return }
    const w = waiting.get(message.name!)
    waiting.delete(message.name!)
    if (message.error !== undefined) w?.reject(new Error(message.error))
    else w?.resolve(message.receipts!)
  })
  return {
    ready: Promise.race([readyPromise, failed]),
    run: async (name) => await Promise.race([failed, new Promise<number>((resolve, reject) => {
      waiting.set(name, { resolve, reject })
      worker.postMessage({ run: name })
    })]),
    stop: async () => {
      const exited = new Promise(resolve => worker.once('exit', resolve))
      worker.postMessage({})
      await exited
    }
  }
}

