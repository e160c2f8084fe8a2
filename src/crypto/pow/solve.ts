/**
 * PoW solver: find an 8-byte nonce such that SHA-256(challenge ‖ nonce) has `bits` leading zero
 * bits. docs/PROTOCOL.md, MAIL entry payload (proof-of-work).
 *
 * Small difficulties (≤ SYNC_MAX_BITS) are solved in the calling thread: a worker would cost more
 * to start than the search. Larger ones run on a pool of worker threads (one per core by default),
 * created on first use and reused. Each job gets a SharedArrayBuffer with a stop flag and a counter
 * of searched chunks: workers poll the flag every SEARCH_CHUNK attempts (so an abort lands within
 * milliseconds) and the main thread reads the counter for `onProgress`, with no message traffic.
 * Watch for: the pool is `unref()`'d while idle so that it never keeps the process alive, and it
 * is thrown away (rebuilt on next use) when any worker fails; `closePowPool()` ends it.
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { AbortError, InvalidArgumentError, PowWorkerError } from '../../errors.ts'
import { checkPowBits, checkPowChallenge } from './challenge.ts'
import { searchNonce } from './search.ts'
import { CONTROL_CHUNKS, CONTROL_SLOTS, CONTROL_STOP, SEARCH_CHUNK } from './sha256-block.ts'
import { verifyPow } from './verify.ts'
import type { PowJob, PowJobResult } from './worker.ts'

/** Difficulties up to this many bits are solved in the calling thread (~2^14 hashes, a few ms). */
export const SYNC_MAX_BITS = 14
/** Interval of `onProgress` calls, ms. */
export const PROGRESS_INTERVAL_MS = 100

export interface PowProgress {
  /** Nonces tried so far by all threads (counted in whole chunks of 65536). */
  attempts: number
  /** Time since the solve started, ms. */
  elapsedMs: number
}

export interface SolvePowOptions {
  /** Cancels the search: the promise rejects with `AbortError` and the workers stop within ms. */
  signal?: AbortSignal
  /** Called every 100 ms while worker threads search; never for in-thread (≤ 14 bits) solves. */
  onProgress?: (progress: PowProgress) => void
  /** Worker threads to search with. Default: `os.availableParallelism()`. */
  threads?: number
}

interface Job {
  onResult: (nonce: Uint8Array | null) => void
  fail: (err: Error) => void
}

interface Pool {
  workers: Worker[]
  jobs: Map<number, Job>
}

let pool: Pool | undefined
let nextJobId = 1

/**
 * Solve in the calling thread (blocks it: about 2^bits hashes at ~8 M/s), trying nonces upward
 * from `startNonce` (u64, default 0) and wrapping around. Returns the nonce.
 */
export function solvePowSync (challenge: Uint8Array, bits: number, startNonce: bigint = 0n): Uint8Array {
  checkPowChallenge(challenge)
  checkPowBits(bits)
  if (typeof startNonce !== 'bigint' || startNonce < 0n || startNonce > 0xffff_ffff_ffff_ffffn) {
    throw new InvalidArgumentError('startNonce must be a bigint from 0 to 2^64 - 1')
  }
  const hi = Number(startNonce >> 32n)
  const lo = Number(startNonce & 0xffff_ffffn)
  const nonce = searchNonce(challenge, bits, hi, 1, lo) ?? searchNonce(challenge, bits, 0, 1, 0)
  // Unreachable for bits ≤ MAX_POW_BITS short of a broken hash function.
  if (nonce == null) throw new Error(`No ${bits}-bit PoW nonce exists for this challenge`)
  return nonce
}

/**
 * Solve on worker threads (in-thread for bits ≤ SYNC_MAX_BITS). Resolves with the 8-byte nonce;
 * rejects with `InvalidArgumentError` for bad arguments, `AbortError` when `signal` aborts
 * (before or during), `PowWorkerError` when a worker thread fails.
 */
export async function solvePow (challenge: Uint8Array, bits: number, options: SolvePowOptions = {}): Promise<Uint8Array> {
  checkPowChallenge(challenge)
  checkPowBits(bits)
  const { signal, onProgress } = options
  const threads = options.threads ?? availableParallelism()
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new InvalidArgumentError(`threads must be an integer from 1 to 256, got ${String(threads)}`)
  }
  if (signal?.aborted === true) throw abortError(signal)
  if (bits <= SYNC_MAX_BITS) return solvePowSync(challenge, bits)

  // Our own 32-byte copy: safe from changes by the caller, and posting a Buffer view would clone
  // its whole backing slab.
  const ownChallenge = new Uint8Array(challenge)
  const p = getPool(threads)
  const id = nextJobId++
  const control = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * Int32Array.BYTES_PER_ELEMENT))
  const started = performance.now()
  return await new Promise<Uint8Array>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined
    const settle = (err: Error | undefined, nonce?: Uint8Array): void => {
      if (!p.jobs.delete(id)) return // already settled
      Atomics.store(control, CONTROL_STOP, 1)
      updateRefs(p)
      clearInterval(timer)
      signal?.removeEventListener('abort', onAbort)
      if (err !== undefined) reject(err)
      else resolve(nonce!)
    }
    const onAbort = (): void => { settle(abortError(signal!)) }
    p.jobs.set(id, {
      onResult (nonce) {
        if (nonce == null) return // this worker was stopped
        // One hash of insurance: never hand out a stamp the receiver would refuse.
        if (verifyPow(ownChallenge, bits, nonce)) settle(undefined, nonce)
        else settle(new PowWorkerError('A PoW worker returned a nonce that does not verify'))
      },
      fail (err) { settle(err) }
    })
    updateRefs(p)
    signal?.addEventListener('abort', onAbort, { once: true })
    if (onProgress !== undefined) {
      timer = setInterval(() => {
        const progress = { attempts: Atomics.load(control, CONTROL_CHUNKS) * SEARCH_CHUNK, elapsedMs: performance.now() - started }
        try {
          onProgress(progress)
        } catch (err) {
          settle(err instanceof Error ? err : new Error(String(err)))
        }
      }, PROGRESS_INTERVAL_MS)
    }
    const job: Omit<PowJob, 'hiStart'> = { id, challenge: ownChallenge, bits, hiStep: threads, control }
    for (let i = 0; i < threads; i++) p.workers[i]!.postMessage({ ...job, hiStart: i } satisfies PowJob)
  })
}

/** Terminate the worker pool (running solves reject with `AbortError`). The next solve starts a new one. */
export async function closePowPool (): Promise<void> {
  const p = pool
  if (p === undefined) return
  pool = undefined
  for (const job of [...p.jobs.values()]) job.fail(new AbortError('The PoW worker pool was closed'))
  await Promise.all(p.workers.map(async (worker) => await worker.terminate()))
}

function abortError (signal: AbortSignal): AbortError {
  return new AbortError('The proof-of-work search was aborted', { cause: signal.reason })
}

function getPool (threads: number): Pool {
  pool ??= { workers: [], jobs: new Map() }
  const p = pool
  try {
    while (p.workers.length < threads) p.workers.push(startWorker(p))
  } catch (err) {
    failPool(p, err as Error)
    throw new PowWorkerError(`Cannot start a PoW worker thread: ${(err as Error).message}`, { cause: err })
  }
  updateRefs(p)
  return p
}

// The same module runs from src/*.ts (type stripping) and from dist/*.js (compiled): the worker
// file has the extension of this one. Not a static import, so tsc cannot rewrite it.
function workerUrl (): URL {
  const ext = new URL(import.meta.url).pathname.endsWith('.ts') ? '.ts' : '.js'
  return new URL(`./worker${ext}`, import.meta.url)
}

// Workers inherit the parent's Node options (loaders, conditions), but `--input-type` (from
// `node --input-type=module -e …`) makes a worker refuse to start. Only then is execArgv given,
// without the options about the main script's source; otherwise Node's inheritance is kept.
function workerExecArgv (): string[] | undefined {
  const parent = process.execArgv
  if (!parent.some((arg) => /^--input-type(=|$)/.test(arg))) return undefined
  const args: string[] = []
  for (let i = 0; i < parent.length; i++) {
    const arg = parent[i]!
    if (/^(-e|--eval|-p|--print|--input-type)$/.test(arg)) i++ // and its value
    else if (!/^--(eval|print|input-type)=/.test(arg)) args.push(arg)
  }
  return args
}

function startWorker (p: Pool): Worker {
  const execArgv = workerExecArgv()
  const worker = new Worker(workerUrl(), { name: 'ipms-pow', ...(execArgv === undefined ? {} : { execArgv }) })
  worker.on('message', (result: PowJobResult) => { p.jobs.get(result.id)?.onResult(result.nonce) })
  worker.on('error', (err: Error) => {
    failPool(p, new PowWorkerError(`A PoW worker thread failed: ${err.message}`, { cause: err }))
  })
  worker.on('exit', (code: number) => {
    failPool(p, new PowWorkerError(`A PoW worker thread exited unexpectedly (exit code ${code})`))
  })
  return worker
}

/** Throw the pool away: reject its jobs, stop its workers. The next solve builds a new pool. */
function failPool (p: Pool, err: Error): void {
  if (pool !== p) return // already failed or closed
  pool = undefined
  for (const job of [...p.jobs.values()]) job.fail(err)
  for (const worker of p.workers) void worker.terminate()
}

/** Workers keep the process alive only while a job runs. */
function updateRefs (p: Pool): void {
  const busy = p.jobs.size > 0
  for (const worker of p.workers) {
    if (busy) worker.ref()
    else worker.unref()
  }
}
