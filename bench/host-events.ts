/**
 * Hosts' event streams for phones (issue #15, docs/PROTOCOL.md §15), on loopback:
 * 1. latency from a host storing a mail (its inbox's `mail` event, in the host's process) to the
 *    `mail` event at a phone-style client over plain HTTP (watchHost), p50 and p99, beside the
 *    send → receipt latency of the same mails;
 * 2. one host holding 1,000 open streams (one per owner, the clients in another process): the
 *    host's RSS increase, and the latency of (1) measured again with them all open.
 */
import { spawn } from 'node:child_process'
import { EventEmitter, once } from 'node:events'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import { createIdentity } from '../src/identity/identity.ts'
import { httpTransport, watchHost } from '../src/host-events/client.ts'
import { sendMail } from '../src/node/send-mail.ts'
import type { Inbox } from '../src/stores/inbox.ts'
import type { PendingMail } from '../src/stores/mailbox-index.ts'
import { BITS, startEventsHost } from '../test/helpers/host-events.ts'
import { formatNumber, median, printRows, type Row } from './row.ts'

/** Mails timed in each part. */
const MAILS = 40
/** Streams held open at once in part 2. */
const STREAMS = 1000

const now = (): number => performance.timeOrigin + performance.now()
const percentile = (values: number[], p: number): number => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!
const ms = (value: number): string => `${formatNumber(value, 1)} ms`
const rss = (): number => { (globalThis as { gc?: () => void }).gc?.(); return process.memoryUsage().rss }

export async function benchHostEvents (): Promise<Row[]> {
  const rows: Row[] = []
  const host = await startEventsHost({ limits: { perAddress: 4096, requestsPerMinute: 1_000_000, streams: 4096 } })
  try {
    /** When the host stored each mail (its inbox's `mail` event), by entry hash. */
    const stored = new Map<string, number>()
    const watchInbox = (inbox: Inbox): void => { inbox.events.on('mail', (m: PendingMail) => { stored.set(m.hash, now()) }) }
    host.running.hosting.events.on('opened', watchInbox)
    for (const inbox of host.running.hosting.opened()) watchInbox(inbox)

    // 1. One phone, one host.
    const owner = await createIdentity()
    await host.accept(owner)
    const controller = new AbortController()
    const arrived = new Map<string, number>()
    const events = new EventEmitter()
    const watching = (async () => {
      for await (const item of watchHost({ identity: owner, transport: httpTransport(host.url), signal: controller.signal })) {
        if (item.type === 'connected') events.emit('connected')
        if (item.type === 'mail') { arrived.set(item.data.entry, now()); events.emit('mail') }
      }
    })()
    await once(events, 'connected')
    const receipts: number[] = []
    const latencies: number[] = []
    for (let i = 0; i < MAILS; i++) {
      const start = now()
      const entry = await host.deliver(owner, `mail ${i}`)
      receipts.push(now() - start)
      while (!arrived.has(entry)) await once(events, 'mail')
      latencies.push(arrived.get(entry)! - stored.get(entry)!)
    }
    controller.abort()
    await watching
    const p50 = median(latencies)
    rows.push({
      measure: `host stores a mail → \`mail\` event at a phone-style client over HTTP (loopback, ${MAILS} mails), p50 / p99`,
      ipms: `${ms(p50)} / ${ms(percentile(latencies, 0.99))}`,
      baseline: `${ms(median(receipts))} send → receipt (same mails, fresh sender each)`,
      ratio: `${formatNumber(median(receipts) / p50, 1)} ×`,
      target: 'p50 ≤ 50 ms',
      met: p50 <= 50
    })

    // 2. A thousand phones, in another process.
    const hostAddr = host.running.node.multiaddrs()[0]!.replace(/\/p2p\/[^/]+$/, '')
    const script = new URL('./host-events-clients.ts', import.meta.url).pathname
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', script, host.url, host.peerId, hostAddr, String(STREAMS)], { stdio: ['pipe', 'pipe', 'inherit'] })
    const lines = createInterface({ input: child.stdout })
    const iterator = lines[Symbol.asyncIterator]()
    try {
      const owners = JSON.parse((await iterator.next()).value as string) as Array<{ owner: string, grant: string, card: string }>
      for (const o of owners) await host.running.hosting.accept(o.grant, { bits: BITS })
      const before = rss()
      const opened = now()
      child.stdin.write('go\n')
      for (let line = await iterator.next(); line.value !== 'open'; line = await iterator.next()) if (line.done === true) throw new Error('the clients ended')
      const openMs = now() - opened
      const after = rss()
      const grown = (after - before) / 2 ** 20
      rows.push({
        measure: `${formatNumber(STREAMS)} open event streams on one host (one per owner, HTTP, clients in another process): host RSS increase`,
        ipms: `${formatNumber(grown, 1)} MiB (${formatNumber((after - before) / STREAMS / 1024, 1)} KiB per stream; all open in ${formatNumber(openMs / 1000, 1)} s)`,
        baseline: `${formatNumber(before / 2 ** 20)} MiB host RSS before`,
        ratio: '—',
        target: '≤ 100 MiB',
        met: grown <= 100
      })
      const loaded: number[] = []
      const sender = await createIdentity()
      for (let i = 0; i < MAILS; i++) {
        const target = owners[(i * 37) % owners.length]!
        const entry = (await sendMail({ body: `to many ${i}` }, { from: sender, card: target.card })).receipts[0]!.entry
        for (;;) {
          const line = await iterator.next()
          if (line.done === true) throw new Error('the clients ended')
          const event = JSON.parse(line.value as string) as { entry: string, at: number }
          if (event.entry === entry) { loaded.push(event.at - stored.get(entry)!); break }
        }
      }
      const loadedP50 = median(loaded)
      rows.push({
        measure: `… the same latency with ${formatNumber(STREAMS)} streams open, p50 / p99`,
        ipms: `${ms(loadedP50)} / ${ms(percentile(loaded, 0.99))}`,
        baseline: `${ms(p50)} with one stream open`,
        ratio: `${formatNumber(p50 / loadedP50, 2)} ×`,
        target: 'p50 ≤ 50 ms',
        met: loadedP50 <= 50
      })
    } finally {
      child.kill()
      await once(child, 'exit').catch(() => {})
    }
  } finally {
    await host.stop()
  }
  return rows
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await printRows(benchHostEvents)
