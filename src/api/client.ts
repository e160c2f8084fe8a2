/**
 * The client of a running daemon's local API (docs/API.md): how a program on this machine finds
 * the daemon that holds a home and talks to it, over HTTP on the Unix socket it names.
 *
 * ```ts
 * const daemon = await connectDaemon(home, { signal })
 * if (daemon === undefined) openTheHomeMyself()
 * else {
 *   const { mail } = await daemon.get('/mail') as { mail: unknown[] }
 *   for await (const event of daemon.events({ since: 0, signal })) console.log(event)
 * }
 * ```
 *
 * How a daemon is found: `<home>/api` (JSON `{ v: 1, socket, pid }`) and `<home>/api.cookie` (64
 * hex characters, presented as `Authorization: Bearer`). A set left by a daemon that died (its
 * process gone, or its socket refusing connections) is removed, and `connectDaemon` answers
 * undefined: the caller then opens the home itself.
 *
 * Watch for: an answer `{ ok: false, error: { code, message } }` is thrown as an IpmsError with
 * that code only when the code is one of IPMS's (`isErrorCode`); anything else is ERR_UNEXPECTED.
 * Every answer is size-bounded before it is parsed.
 */
import type { IncomingMessage } from 'node:http'
import { connect } from 'node:net'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AbortError, IpmsError, MalformedError, NoDaemonError, TooLargeError, isErrorCode } from '../errors.ts'
import { isJsonObject } from '../util/json-object.ts'
import { isProcessAlive } from '../util/process.ts'
import { API_COOKIE_FILE_NAME, API_FILE_NAME, API_PREFIX, removeApiFiles, type ApiInfo } from './api-files.ts'
import { ndjsonParser, sseParser } from './client-streams.ts'
import { builtin } from '../util/builtin.ts'

const { request } = builtin<typeof import('node:http')>('node:http')

/** The largest JSON answer read (a raw mail with its attachments is the largest). */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024
/** How long a first connection to the socket may take before the daemon counts as not answering. */
const PROBE_TIMEOUT_MS = 2_000
/** Longest error message kept from an answer. */
const MAX_MESSAGE_CHARS = 4096

/** What `<home>/api` says (api-files.ts). */
export type ApiAddress = ApiInfo

/** One daemon event as the API streams it; a reset when the daemon no longer keeps what followed `since`. */
export type ApiEvent = { id: number, type: string, /** When the daemon saw it (ms since the epoch); absent from an older daemon. */ time?: number, data: Record<string, unknown> } | { reset: true, last: number }

/** A progress line of a streamed answer: `{ stage: 'pow' | 'deliver' | 'sync', … }`. */
export type ApiProgress = Record<string, unknown> & { stage: string }

export interface RequestOptions { signal?: AbortSignal }

export interface DaemonClient {
  /** What `<home>/api` says about the daemon. */
  address: ApiAddress
  /** GET `/api/v1${path}`; the answer's fields besides `ok`. */
  get: (path: string, options?: RequestOptions) => Promise<Record<string, unknown>>
  /** POST a JSON body; the answer's fields besides `ok`. */
  post: (path: string, body: unknown, options?: RequestOptions) => Promise<Record<string, unknown>>
  /** POST, then read an NDJSON answer: each progress line to `onProgress`, the final line's fields. */
  stream: (path: string, body: unknown, onProgress: (progress: ApiProgress) => void, options?: RequestOptions) => Promise<Record<string, unknown>>
  /** The daemon's events (Server-Sent Events) after `since` (default: from now), until it stops or `signal` aborts. */
  events: (options?: { since?: number, signal?: AbortSignal }) => AsyncIterableIterator<ApiEvent>
}

/** `<home>/api` if it is one, else undefined. Never throws. */
function parseAddress (value: unknown): ApiAddress | undefined {
  if (!isJsonObject(value) || value.v !== 1) return undefined
  const { socket, pid, tcp } = value
  if (typeof socket !== 'string' || socket === '' || socket.length > 4096) return undefined
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return undefined
  return { v: 1, socket, pid, ...(typeof tcp === 'string' ? { tcp } : {}) }
}

/** Whether something accepts connections on `socket`. Never throws. */
async function socketAnswers (socket: string, signal?: AbortSignal): Promise<boolean> {
  return await new Promise(resolve => {
    const conn = connect({ path: socket })
    const done = (answers: boolean): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      conn.destroy()
      resolve(answers)
    }
    const onAbort = (): void => { done(false) }
    // A socket that neither accepts nor refuses: its daemon is stuck; treated as not answering
    // (but its files are kept: see connectDaemon).
    const timer = setTimeout(() => { done(false) }, PROBE_TIMEOUT_MS)
    conn.once('connect', () => { done(true) })
    conn.once('error', () => { done(false) })
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** Remove a dead daemon's `api`, `api.cookie` and `api.sock`. Never throws (the local path then says what is wrong with the home). */
async function removeStale (home: string): Promise<void> {
  await removeApiFiles(home).catch(() => {})
}

/**
 * The client of the daemon running on `home`, or undefined when none runs (no `api` file, or a
 * stale one: removed). Never rejects but on `signal`.
 */
export async function connectDaemon (home: string, options: RequestOptions = {}): Promise<DaemonClient | undefined> {
  const { signal } = options
  let text: string
  try {
    text = await readFile(join(home, API_FILE_NAME), 'utf8')
  } catch {
    return undefined // no daemon (or a home we cannot read: the local path says why)
  }
  signal?.throwIfAborted()
  let address: ApiAddress | undefined
  try { address = parseAddress(JSON.parse(text)) } catch { address = undefined }
  if (address === undefined || !isProcessAlive(address.pid)) {
    await removeStale(home)
    return undefined
  }
  if (!await socketAnswers(address.socket, signal)) {
    signal?.throwIfAborted()
    // Refused: nobody listens (the pid was reused, or the daemon is going). A live process that
    // holds the home still makes the local path fail with "home in use", as it should.
    await removeStale(home)
    return undefined
  }
  const cookie = (await readFile(join(home, API_COOKIE_FILE_NAME), 'utf8').catch(() => '')).trim()
  if (!/^[0-9a-f]{64}$/.test(cookie)) return undefined // starting or stopping: the local path decides
  return createClient(address, cookie)
}

/** The error an answer's `error` stands for. Never throws. */
export function answerError (value: unknown, status?: number): IpmsError {
  const error = isJsonObject(value) && isJsonObject(value.error) ? value.error : undefined
  const code = error?.code
  const message = typeof error?.message === 'string' ? error.message.slice(0, MAX_MESSAGE_CHARS) : `The daemon answered ${status === undefined ? 'with a failure' : `HTTP ${status}`} without saying why`
  return new IpmsError(isErrorCode(code) ? code : 'ERR_UNEXPECTED', message)
}

/** The fields of an `{ ok: true, … }` answer; the error of anything else. */
function settle (value: unknown, status?: number): Record<string, unknown> {
  if (isJsonObject(value) && value.ok === true) {
    const { ok: _ok, ...rest } = value
    return rest
  }
  throw answerError(value, status)
}

function createClient (address: ApiAddress, cookie: string): DaemonClient {
  /** Send one request; resolves with the response once its headers are in. */
  const send = async (method: 'GET' | 'POST', path: string, body: unknown, headers: Record<string, string>, signal?: AbortSignal): Promise<IncomingMessage> => {
    signal?.throwIfAborted()
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    return await new Promise((resolve, reject) => {
      const req = request({
        // The connection made here, not by an Agent: the Agent names a TLS server for every
        // request, whose IPv6 check compiles a regex that costs a CLI run ~6 ms, for a Unix socket.
        createConnection: () => connect({ path: address.socket }),
        method,
        path: `${API_PREFIX}${path}`,
        headers: {
          authorization: `Bearer ${cookie}`,
          ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(payload.byteLength) }),
          ...headers
        },
        ...(signal === undefined ? {} : { signal })
      }, resolve)
      req.once('error', err => {
        reject(signal?.aborted === true
          ? new AbortError('Interrupted', { cause: err })
          : new NoDaemonError(`The daemon of this home stopped answering (${(err as NodeJS.ErrnoException).code ?? err.message}): run the command again (without a daemon it works on the home itself)`, { cause: err }))
      })
      req.end(payload)
    })
  }

  /** Feed a response's text to `push` chunk by chunk, bounded; resolves at its end. */
  const read = async (res: IncomingMessage, push: (chunk: string) => void, maxBytes: number, signal?: AbortSignal): Promise<void> => {
    res.setEncoding('utf8')
    let total = 0
    try {
      for await (const chunk of res) {
        total += Buffer.byteLength(chunk as string)
        if (total > maxBytes) throw new TooLargeError(`The daemon's answer is over ${maxBytes} bytes: refused`)
        push(chunk as string)
      }
    } catch (err) {
      if (err instanceof IpmsError) throw err
      // Cut by our own signal (Ctrl-C), not by the daemon: an interruption (exit 130).
      if (signal?.aborted === true) throw new AbortError('Interrupted', { cause: err })
      throw new NoDaemonError(`The daemon of this home stopped answering mid-answer (${(err as Error).message}): run the command again`, { cause: err })
    }
  }

  const json = async (res: IncomingMessage, signal?: AbortSignal): Promise<Record<string, unknown>> => {
    let text = ''
    await read(res, chunk => { text += chunk }, MAX_ANSWER_BYTES, signal)
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (err) {
      throw new MalformedError(`The daemon answered HTTP ${res.statusCode ?? '?'} with something that is not JSON: upgrade or restart it`, { cause: err })
    }
    return settle(value, res.statusCode)
  }

  const client: DaemonClient = {
    address,
    get: async (path, options = {}) => await json(await send('GET', path, undefined, { accept: 'application/json' }, options.signal), options.signal),
    post: async (path, body, options = {}) => await json(await send('POST', path, body, { accept: 'application/json' }, options.signal), options.signal),
    stream: async (path, body, onProgress, options = {}) => {
      const res = await send('POST', path, body, { accept: 'application/x-ndjson, application/json' }, options.signal)
      // Refused before streaming began (401, 400 …): a plain JSON answer.
      if (res.statusCode !== 200 || !(res.headers['content-type'] ?? '').includes('ndjson')) return await json(res, options.signal)
      let final: unknown
      const parser = ndjsonParser(value => {
        if (isJsonObject(value) && isJsonObject(value.progress) && typeof value.progress.stage === 'string') onProgress(value.progress as ApiProgress)
        else if (final === undefined) final = value
      })
      await read(res, chunk => { parser.push(chunk) }, MAX_ANSWER_BYTES, options.signal)
      parser.end()
      if (final === undefined) throw new NoDaemonError('The daemon ended its answer before its result (did it stop?): run the command again')
      return settle(final)
    },
    events: (options = {}) => eventStream(options)
  }

  /** The SSE stream as an async iterator: one request, events queued as they arrive. */
  function eventStream (options: { since?: number, signal?: AbortSignal }): AsyncIterableIterator<ApiEvent> {
    const queue: ApiEvent[] = []
    let ended = false
    let failure: unknown
    let wake: (() => void) | undefined
    const local = new AbortController()
    const stop = (): void => { local.abort(); wake?.() }
    options.signal?.addEventListener('abort', stop, { once: true })
    const signal = local.signal
    const parser = sseParser(message => {
      if (message.event === 'reset') {
        const last = isJsonObject(message.data) ? message.data.last : undefined
        queue.push({ reset: true, last: typeof last === 'number' && Number.isSafeInteger(last) ? last : 0 })
      } else if (isJsonObject(message.data)) {
        const id = Number(message.id)
        const { time, ...data } = message.data
        queue.push({ id: Number.isSafeInteger(id) ? id : 0, type: message.event, ...(Number.isSafeInteger(time) ? { time: time as number } : {}), data })
      }
      wake?.()
    })
    const finish = (err?: unknown): void => {
      if (err !== undefined && !signal.aborted) failure = err
      ended = true
      wake?.()
    }
    void (async () => {
      const res = await send('GET', '/events', undefined, {
        accept: 'text/event-stream',
        ...(options.since === undefined ? {} : { 'last-event-id': String(options.since) })
      }, signal)
      if (res.statusCode !== 200) { await json(res); return } // throws the daemon's refusal
      await read(res, chunk => { parser.push(chunk) }, Number.MAX_SAFE_INTEGER)
      parser.end()
    })().then(() => { finish() }, finish)

    const iterator: AsyncIterableIterator<ApiEvent> = {
      next: async () => {
        for (;;) {
          const first = queue.shift()
          if (first !== undefined) return { value: first, done: false }
          if (ended || signal.aborted) {
            options.signal?.removeEventListener('abort', stop)
            if (failure !== undefined) { const err = failure; failure = undefined; throw err }
            return { value: undefined, done: true }
          }
          await new Promise<void>(resolve => { wake = resolve })
          wake = undefined
        }
      },
      return: async () => {
        stop()
        options.signal?.removeEventListener('abort', stop)
        return { value: undefined, done: true }
      },
      [Symbol.asyncIterator]: () => iterator
    }
    return iterator
  }

  return client
}
