/**
 * A host's memory per pending mail (issue #13: 7.4 KiB per pending 1 KiB mail, so a company host
 * with a million pending mails needed ~7 GiB): one node keeping INBOXES inboxes (bits 0), MAILS
 * sealed and stamped 1 KiB mails received into each (`inbox.receive`, as a delivery stores them),
 * every inbox open. Measured after two full GCs (`--expose-gc`, given by bench/run.ts): the memory
 * held (V8 heap + array buffers) and the RSS, before and after, per pending mail. The baseline is
 * what one such mail is on disk (its envelope): memory per mail beside it shows that the state
 * lives on disk, not in memory.
 * `node --expose-gc bench/memory.ts [inboxes] [mails]` runs it alone (default 100 × 1,000).
 */
import { pathToFileURL } from 'node:url'
import { createIdentity } from '../src/identity/identity.ts'
import { openInbox, type Inbox } from '../src/stores/orbitdb/open-inbox.ts'
import { envelopeBlock } from '../src/stores/envelope-block.ts'
import { startTestNode } from '../test/helpers/nodes.ts'
import { stampedMail } from '../test/helpers/inbox.ts'
import { formatNumber, printRows, type Row } from './row.ts'

const [INBOXES, MAILS] = [Number(process.argv[2] ?? 100), Number(process.argv[3] ?? 1000)].map(v => Number.isInteger(v) && v > 0 ? v : undefined) as [number | undefined, number | undefined]

export async function benchMemory (inboxCount = INBOXES ?? 100, mailCount = MAILS ?? 1000): Promise<Row[]> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('bench/memory.ts needs node --expose-gc (bench/run.ts gives it)')
  const measure = (): { rss: number, held: number } => { gc(); gc(); const m = process.memoryUsage(); return { rss: m.rss, held: m.heapUsed + m.arrayBuffers } }
  const node = await startTestNode({})
  const inboxes: Inbox[] = []
  try {
    const from = await createIdentity()
    for (let i = 0; i < inboxCount; i++) inboxes.push(await openInbox(node.node.orbitdb, (await createIdentity()).peerId, 0))
    const body = 'x'.repeat(1024)
    let envelopeBytes = 0
    const before = measure()
    for (const inbox of inboxes) {
      for (let k = 0; k < mailCount; k += 100) {
        const batch = await Promise.all(Array.from({ length: Math.min(100, mailCount - k) }, async () => await stampedMail(from, inbox.owner, 0, body)))
        envelopeBytes = batch[0]!.envelope.byteLength
        await Promise.all(batch.map(async m => await inbox.receive(m.mail, (await envelopeBlock(m.mail.env, m.envelope))!)))
      }
    }
    const after = measure()
    const pending = inboxCount * mailCount
    const heldKiB = (after.held - before.held) / pending / 1024
    const rssKiB = (after.rss - before.rss) / pending / 1024
    const what = `${formatNumber(inboxCount)} inboxes × ${formatNumber(mailCount)} pending 1 KiB mails, all open, one node`
    return [
      { measure: `host memory held per pending mail (V8 heap + buffers after GC): ${what}`, ipms: `${formatNumber(heldKiB, 2)} KiB`, baseline: `${formatNumber(envelopeBytes)} B (one envelope on disk)`, ratio: `${formatNumber(heldKiB * 1024 / envelopeBytes, 2)} × the envelope`, target: '≤ 0.5 KiB', met: heldKiB <= 0.5 },
      { measure: `host RSS growth per pending mail: ${what}`, ipms: `${formatNumber(rssKiB, 2)} KiB (RSS ${formatNumber(after.rss / 1048576)} MiB)`, baseline: 'before: 7.4 KiB (issue #13)', ratio: `${formatNumber(7.4 / rssKiB, 1)} × less`, target: '— (context: freed heap pages and allocator arenas stay in RSS)', met: null }
    ]
  } finally {
    for (const inbox of inboxes) await inbox.close().catch(() => {})
    await node.cleanup()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await printRows(async () => await benchMemory())
