/**
 * The web inbox (issue #15), in a real Chromium: the owner's daemon stores a mail (pushed from
 * its host at once) → the web inbox shows it without a reload; measured in the page from the
 * `mail` event's time (the daemon's clock, the same machine) to the end of the page's new render.
 * Baseline, in the same page and run: the same events at a bare EventSource (delivery to the
 * browser without rendering). Target: p50 ≤ 200 ms.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { grantRunningHost, initHome, ipms, startDaemon, type Daemon } from '../examples/ipms-cli.ts'
import { launchBrowser } from '../test/helpers/browser.ts'
import { formatNumber, median, printRows, type Row } from './row.ts'

/** Mails timed, one after another. */
const MAILS = 20

declare const window: Record<string, unknown> & { EventSource: new (url: string) => { addEventListener: (type: string, fn: (m: { data: string }) => void) => void } }

const percentile = (values: number[], p: number): number => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!

export async function benchWeb (): Promise<Row[]> {
  const root = await mkdtemp(join(tmpdir(), 'ipms-bench-web-'))
  const daemons: Daemon[] = []
  const browser = await launchBrowser()
  try {
    const [host, alice, owner] = [await initHome(join(root, 'host')), await initHome(join(root, 'alice'), ['--bits', '8']), await initHome(join(root, 'owner'), ['--bits', '8'])]
    const hostDaemon = await startDaemon(host.home)
    daemons.push(hostDaemon)
    const { card } = await grantRunningHost(owner, host, hostDaemon)
    daemons.push(await startDaemon(owner.home, ['--web', '127.0.0.1:0']))
    daemons.push(await startDaemon(alice.home))
    const link = (await ipms(owner.home, ['web', '--json'])).json.url as string
    const page = await browser.newPage()
    await page.goto(link)
    await page.waitForSelector('.live.on')
    // The baseline: the same events, at a bare EventSource in the same page.
    await page.evaluate(() => {
      const raw: number[] = []
      window.rawAfterMs = raw
      new window.EventSource('/api/v1/events').addEventListener('mail', m => { raw.push(Date.now() - (JSON.parse(m.data) as { time: number }).time) })
    })
    for (let i = 0; i < MAILS; i++) {
      const sent = await ipms(alice.home, ['send', card, '-s', `timed ${i}`], { input: `mail ${i}` })
      if (sent.code !== 0) throw new Error(`send failed: ${sent.stderr}`)
      await page.waitForFunction((n: number) => ((window.ipmsShownAfterMs as number[] | undefined)?.length ?? 0) > n && ((window.rawAfterMs as number[]).length > n), { timeout: 60_000 }, i)
    }
    const shown = await page.evaluate(() => window.ipmsShownAfterMs as number[])
    const raw = await page.evaluate(() => window.rawAfterMs as number[])
    const [shownP50, rawP50] = [median(shown), median(raw)]
    return [{
      measure: `web inbox: daemon stores a mail → the page shows it, p50 / p99 (${MAILS} mails, Chromium)`,
      ipms: `${formatNumber(shownP50)} / ${formatNumber(percentile(shown, 0.99))} ms`,
      baseline: `${formatNumber(rawP50)} / ${formatNumber(percentile(raw, 0.99))} ms (the event at a bare EventSource in the page)`,
      ratio: `${formatNumber(rawP50 / Math.max(shownP50, 1), 2)} ×`,
      target: 'p50 ≤ 200 ms',
      met: shownP50 <= 200
    }]
  } finally {
    await browser.close()
    for (const d of daemons.reverse()) await d.stop()
    await rm(root, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await printRows(benchWeb)
