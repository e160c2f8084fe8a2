/**
 * The owner's side of a host's event stream (docs/PROTOCOL.md §15): what a phone app does. It
 * proves the owner's peer-id to the host (libp2p Peer ID Auth, client-initiated: the host's
 * signature is checked, and its peer-id when known, before the owner signs anything), keeps the
 * bearer token for reconnections, and reads the Server-Sent Events; after a dropped connection it
 * reconnects with `Last-Event-ID`, so that each event is given once: none missed, none repeated
 * (or a `reset`, after which the inbox must be read again).
 *
 * ```ts
 * for await (const item of watchHost({ identity, host: 'http://host.example:8443', signal })) {
 *   if (item.type === 'mail' || item.type === 'reset') await syncMyInbox()
 * }
 * ```
 *
 * Transports: plain HTTP(S) to a URL (httpTransport), or HTTP over libp2p streams to the host's
 * multiaddrs (libp2p-client.ts). Everything read from the host is bounded (head 16 KiB, lines
 * 64 KiB) and checked before it is given out.
 */
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { setTimeout as sleep } from 'node:timers/promises'
import { ClientInitiatedHandshake } from '@libp2p/http-peer-id-auth'
import { sseParser, type SseMessage } from '../api/client-streams.ts'
import { MalformedError, NotFoundError, TooLargeError, UnauthorizedError } from '../errors.ts'
import type { Identity } from '../identity/identity.ts'
import type { HostEventData } from './feed.ts'
import { eventsPath, PING_MS } from './server.ts'

/** How a client reaches a host: the hostname it authenticates to, and GET requests. */
export interface HostTransport {
  /** What the client signs as the host's name (the Host header it sends). */
  hostname: string
  /** Shown to people. */
  label: string
  get: (path: string, headers: OutgoingHttpHeaders, signal: AbortSignal) => Promise<IncomingMessage>
  close?: () => Promise<void>
}

/** Longest response head read from a host, bytes. */
export const MAX_HEAD_BYTES = 16 * 1024
/** Longest line of the stream, bytes (a `pruned` event of 256 envelopes is about 16 KiB). */
export const MAX_LINE_BYTES = 64 * 1024
/** Waits before reconnecting after a failure, ms; the last repeats. */
export const RETRY_MS = [1_000, 2_000, 5_000, 10_000, 30_000]

/** Plain HTTP (or HTTPS) to `url`'s host. */
export function httpTransport (url: string | URL): HostTransport {
  const target = new URL(url)
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new TypeError(`${target.protocol} is not http: or https:`)
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest
  return {
    hostname: target.host,
    label: target.origin,
    get: async (path, headers, signal) => await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({ protocol: target.protocol, hostname: target.hostname, port: target.port, path, method: 'GET', headers: { ...headers, host: target.host }, signal, maxHeaderSize: MAX_HEAD_BYTES }, resolve)
      req.on('error', reject)
      req.end()
    })
  }
}

export type WatchItem =
  | { type: 'connected', host: string }
  | { type: 'disconnected', host: string, error: string, retryMs: number }
  | { type: 'mail', id: string, data: HostEventData['mail'] }
  | { type: 'pruned', id: string, data: HostEventData['pruned'] }
  /** Events were missed (the host restarted, or no longer keeps them): read the inbox again. */
  | { type: 'reset', id: string }

export interface WatchHostOptions {
  /** The owner (the stream is of its inbox, and it signs the handshake). */
  identity: Identity
  transport: HostTransport
  /** The host's peer-id, when known (a card host): the handshake refuses any other. */
  hostPeer?: string
  /** Resume after this event id (one a previous watch gave). Default: from now. */
  since?: string
  signal?: AbortSignal
  /** Waits between reconnections, ms. */
  retryMs?: number[]
  /** No byte for this long (pings come every 20 s) means a dead connection, ms. Default 50 s. */
  silenceMs?: number
}

const ID = /^[0-9a-z]{1,16}-\d{1,15}$/
const HASHLIKE = /^[A-Za-z0-9]{1,128}$/
const isTime = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0

/** A message of the host's stream checked (a hostile host sends anything), or undefined. Never throws. */
export function checkMessage (message: SseMessage): WatchItem | undefined {
  const id = message.id
  if (id === undefined || !ID.test(id)) return undefined
  const data = message.data as Record<string, unknown> | null
  if (typeof data !== 'object' || data === null) return undefined
  if (message.event === 'reset') return { type: 'reset', id }
  if (message.event === 'mail') {
    const { entry, env, size, arrived } = data
    if (typeof entry !== 'string' || !HASHLIKE.test(entry) || typeof env !== 'string' || !HASHLIKE.test(env) || !isTime(size) || !isTime(arrived)) return undefined
    return { type: 'mail', id, data: { entry, env, size, arrived } }
  }
  if (message.event === 'pruned') {
    const { envelopes, reason } = data
    if (!Array.isArray(envelopes) || envelopes.length > 256 || !envelopes.every(e => typeof e === 'string' && HASHLIKE.test(e)) || (reason !== 'read' && reason !== 'expired')) return undefined
    return { type: 'pruned', id, data: { envelopes: envelopes as string[], reason } }
  }
  return undefined
}

/** Read and drop a response's body (bounded), so that its connection can serve the next request. */
async function drain (res: IncomingMessage): Promise<string> {
  let text = ''
  res.setEncoding('utf8')
  for await (const chunk of res) {
    if (text.length < 4096) text += chunk as string
  }
  return text
}

/** The host's error message in a JSON answer, for people (bounded, one line). */
const messageOf = (text: string): string => {
  try {
    const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message
    return typeof message === 'string' ? message.slice(0, 300).replace(/[\u0000-\u001f]/g, ' ') : ''
  } catch {
    return ''
  }
}

const header = (res: IncomingMessage, name: string): string | undefined => {
  const value = res.headers[name]
  return typeof value === 'string' ? value : undefined
}

/**
 * Open the owner's stream: with the bearer token if there is one, else (or when the host no
 * longer takes it) through the handshake. The response (200, or a refusal) and the token to use next.
 */
export async function openHostStream (options: { identity: Identity, transport: HostTransport, hostPeer?: string, authorization?: string, since?: string, signal: AbortSignal }): Promise<{ res: IncomingMessage, authorization?: string }> {
  const { identity, transport, signal } = options
  const path = eventsPath(identity.peerId)
  const resume: OutgoingHttpHeaders = options.since === undefined ? {} : { 'last-event-id': options.since }
  const accept = { accept: 'text/event-stream' }
  if (options.authorization !== undefined) {
    const res = await transport.get(path, { ...accept, ...resume, authorization: options.authorization }, signal)
    if (res.statusCode !== 401) return { res, authorization: options.authorization }
    await drain(res)
  }
  const handshake = new ClientInitiatedHandshake(identity.privateKey, transport.hostname, options.hostPeer === undefined ? undefined : peer => peer.toString() === options.hostPeer)
  const first = await transport.get(path, { ...accept, authorization: handshake.getChallenge() }, signal)
  const text = await drain(first)
  const challenge = header(first, 'www-authenticate')
  if (first.statusCode === 429 || (first.statusCode ?? 0) >= 500) throw new Error(`status ${first.statusCode ?? '?'}: ${messageOf(text)}`)
  if (first.statusCode === 404) throw new NotFoundError(`${transport.label} has no event streams (${messageOf(text)}): is it an IPMS host?`)
  if (first.statusCode !== 401 || challenge === undefined) {
    throw new UnauthorizedError(`${transport.label} did not answer the peer-id handshake (status ${first.statusCode ?? '?'}${messageOf(text) === '' ? '' : `: ${messageOf(text)}`}): is it an IPMS host serving event streams?`)
  }
  let answer: string
  try {
    answer = await handshake.verifyServer(challenge, { signal })
  } catch (err) {
    throw new UnauthorizedError(`${transport.label} failed the peer-id handshake (${(err as Error).message}): ${options.hostPeer === undefined ? 'it is not the host it claims to be' : `it is not ${options.hostPeer}`}`, { cause: err })
  }
  const res = await transport.get(path, { ...accept, ...resume, authorization: answer }, signal)
  const info = header(res, 'authentication-info')
  let authorization: string | undefined
  if (info !== undefined) {
    try { authorization = handshake.decodeBearerToken(info) } catch {}
  }
  return { res, authorization }
}

/** Wait `ms` unless `signal` aborts (then resolve at once). */
const pause = async (ms: number, signal: AbortSignal): Promise<void> => { await sleep(ms, undefined, { signal }).catch(() => {}) }

/**
 * The owner's events at a host, until `signal` aborts: reconnects after every failure (waiting
 * RETRY_MS), resuming after the last event given. Throws NotFoundError when the host does not
 * stream this inbox (it keeps no grant of the owner's), UnauthorizedError when it refuses the
 * owner's proof, and ends quietly on abort.
 */
export async function * watchHost (options: WatchHostOptions): AsyncGenerator<WatchItem> {
  const { identity, transport } = options
  const signal = options.signal ?? new AbortController().signal
  const retryMs = options.retryMs ?? RETRY_MS
  const silenceMs = options.silenceMs ?? Math.round(PING_MS * 2.5)
  let since = options.since
  let authorization: string | undefined
  let failures = 0
  while (!signal.aborted) {
    let error: string
    try {
      const opened = await openHostStream({ identity, transport, hostPeer: options.hostPeer, authorization, since, signal })
      authorization = opened.authorization
      const { res } = opened
      if (res.statusCode === 404) throw new NotFoundError(`${transport.label} streams no inbox of yours (${messageOf(await drain(res))}): is it one of your hosts, and has it accepted your grant?`)
      if (res.statusCode === 401) throw new UnauthorizedError(`${transport.label} refused your peer-id proof: ${messageOf(await drain(res))}`)
      if (res.statusCode !== 200) {
        error = `status ${res.statusCode ?? '?'}: ${messageOf(await drain(res))}`
      } else {
        failures = 0
        yield { type: 'connected', host: transport.label }
        const items: WatchItem[] = []
        const parser = sseParser(message => { const item = checkMessage(message); if (item !== undefined) items.push(item) }, { maxLineBytes: MAX_LINE_BYTES })
        res.setEncoding('utf8')
        // A connection that went silent (a phone changing networks) is dead: pings come every 20 s.
        const silence = setTimeout(() => { res.destroy(new Error(`nothing from the host for ${Math.round(silenceMs / 1000)} s`)) }, silenceMs)
        try {
          for await (const chunk of res) {
            silence.refresh()
            let malformed: unknown
            try { parser.push(chunk as string) } catch (err) { malformed = err }
            // The events before a malformed one are given all the same.
            for (const item of items.splice(0)) {
              // Given once: the next connection resumes after it.
              if ('id' in item) since = item.id
              yield item
            }
            if (malformed !== undefined) throw malformed
          }
          error = 'the host ended the stream'
        } finally {
          clearTimeout(silence)
          res.destroy()
        }
      }
    } catch (err) {
      if (signal.aborted) return
      if (err instanceof NotFoundError || err instanceof UnauthorizedError) throw err
      // The stream parser's words are the daemon's: said here of the host.
      error = err instanceof MalformedError || err instanceof TooLargeError ? `${transport.label} sent a malformed stream (a line too long, or data that is not JSON)` : (err as Error).message
    }
    if (signal.aborted) return
    const wait = retryMs[Math.min(failures, retryMs.length - 1)] ?? 1_000
    failures++
    yield { type: 'disconnected', host: transport.label, error, retryMs: wait }
    await pause(wait, signal)
  }
}
