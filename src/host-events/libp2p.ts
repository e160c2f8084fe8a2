/**
 * The host's event streams over libp2p streams (docs/PROTOCOL.md §15.2): HTTP/1.1 on the protocol
 * `/http/1.1` of `@libp2p/http`, so that a client with nothing but the host's multiaddr (the
 * owner's card) reaches the same handlers as over plain HTTP. `@libp2p/http`'s registrar reads a
 * stream's request head and hands it to a `WebServer`; ours gives it, as a socket, to the same
 * node:http server that listens on TCP (server.ts), so every check runs there, once.
 *
 * Watch for: the registrar is started on the node's own libp2p through its public `handle`
 * (the node is built elsewhere, without the service); it waits for a request head without a
 * deadline, so one is set here (HEAD_TIMEOUT_MS), and it reads heads of up to 80 KiB, which the
 * node:http server then refuses past its own 8 KiB.
 */
import { Duplex } from 'node:stream'
import type { Server } from 'node:http'
import { http, HTTP_PROTOCOL } from '@libp2p/http'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'

/** Time a libp2p stream has to send its request head, ms. */
export const HEAD_TIMEOUT_MS = 10_000
/** `/http/1.1` streams one connection may have open at once. */
export const STREAMS_PER_CONNECTION = 8

/** A libp2p stream as the socket node:http reads and writes (any Duplex may be injected). */
class StreamSocket extends Duplex {
  readonly remoteAddress: string
  private readonly stream: Stream
  private idleMs = 0
  private idle?: NodeJS.Timeout

  constructor (stream: Stream, connection: Connection, head: Uint8Array) {
    super({ allowHalfOpen: true })
    this.stream = stream
    this.remoteAddress = connection.remoteAddr.toString()
    this.push(head)
    stream.addEventListener('message', event => {
      this.touch()
      if (!this.push(event.data.subarray())) stream.pause()
    })
    stream.addEventListener('close', event => {
      if (event.error !== undefined) this.destroy(event.error)
      else this.push(null)
    })
  }

  private touch (): void {
    if (this.idle !== undefined) this.idle.refresh()
  }

  override _read (): void { this.stream.resume() }

  override _write (chunk: Uint8Array, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.touch()
    if (this.stream.send(chunk)) callback()
    else this.stream.onDrain().then(() => { callback() }, callback)
  }

  override _final (callback: (err?: Error | null) => void): void {
    this.stream.close().then(() => { callback() }, (err: Error) => { this.stream.abort(err); callback() })
  }

  override _destroy (err: Error | null, callback: (err?: Error | null) => void): void {
    clearTimeout(this.idle)
    if (err !== null) this.stream.abort(err)
    else this.stream.close().catch((e: Error) => { this.stream.abort(e) })
    callback(err)
  }

  /** node:http's idle timeouts (keep-alive, requests), as on a TCP socket. */
  setTimeout (ms: number, callback?: () => void): this {
    if (callback !== undefined) this.once('timeout', callback)
    clearTimeout(this.idle)
    this.idle = undefined
    this.idleMs = ms
    if (ms > 0) {
      this.idle = setTimeout(() => { this.emit('timeout') }, this.idleMs)
      this.idle.unref()
    }
    return this
  }

  setNoDelay (): this { return this }
  setKeepAlive (): this { return this }
}

/** Serve `server`'s requests on `libp2p`'s `/http/1.1` streams; the undo. */
export async function serveOverLibp2p (libp2p: Libp2p, server: Server): Promise<() => Promise<void>> {
  const waiting = new WeakMap<Stream, NodeJS.Timeout>()
  const service = http({
    server: {
      inject: async (info, stream, connection) => {
        clearTimeout(waiting.get(stream))
        server.emit('connection', new StreamSocket(stream, connection, info.raw.subarray()))
      }
    }
  })({
    logger: libp2p.logger,
    // Only what the registrar uses: handle and unhandle its protocol, with a head deadline.
    registrar: {
      handle: async (protocol: string, handler: (stream: Stream, connection: Connection) => Promise<void>) => {
        await libp2p.handle(protocol, (stream, connection) => {
          const timer = setTimeout(() => { stream.abort(new Error('no request head in time')) }, HEAD_TIMEOUT_MS)
          timer.unref()
          waiting.set(stream, timer)
          handler(stream, connection).catch(() => { clearTimeout(timer); stream.abort(new Error('not an HTTP request')) })
        }, { maxInboundStreams: STREAMS_PER_CONNECTION })
      },
      unhandle: async (protocol: string) => { await libp2p.unhandle(protocol) }
    }
  } as never) as unknown as { start: () => Promise<void>, stop: () => Promise<void> }
  await service.start()
  return async () => { await service.stop() }
}

export { HTTP_PROTOCOL }
