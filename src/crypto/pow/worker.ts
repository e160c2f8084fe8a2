/**
 * Worker-thread entry of the PoW solver pool (started by solve.ts, never imported).
 *
 * Each message is one job: search a share of the nonce space until a nonce is found or the job's
 * shared stop flag is set, then answer with the nonce (or null). Jobs run one after another, so a
 * stopped job's worker picks up the next job within one search chunk.
 */
import { parentPort } from 'node:worker_threads'
import { searchNonce } from './search.ts'

/** Main thread → worker. */
export interface PowJob {
  /** Job id, echoed in the answer so that late answers of finished jobs can be told apart. */
  id: number
  challenge: Uint8Array
  bits: number
  /** First nonce high word of this worker, and the stride between its high words. */
  hiStart: number
  hiStep: number
  /** Int32Array of CONTROL_SLOTS over a SharedArrayBuffer: stop flag and chunk counter. */
  control: Int32Array
}

/** Worker → main thread. */
export interface PowJobResult {
  id: number
  /** The nonce found, or null when the job was stopped. */
  nonce: Uint8Array | null
}

const port = parentPort
if (port == null) throw new Error('src/crypto/pow/worker is a worker-thread entry; import src/crypto/pow/index instead')

port.on('message', (job: PowJob) => {
  const nonce = searchNonce(job.challenge, job.bits, job.hiStart, job.hiStep, 0, job.control)
  const result: PowJobResult = { id: job.id, nonce }
  port.postMessage(result)
})
