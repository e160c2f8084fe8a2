/**
 * A real headless Chromium for the web inbox's tests and bench: the binary of the npm package
 * `@sparticuz/chromium` (unpacked to /tmp at first use), driven by `puppeteer-core`. Its
 * Lambda-oriented flags are kept but those that weaken a browser's security
 * (--disable-web-security, --allow-running-insecure-content): the page must hold up in a browser
 * as people run it.
 */
import chromium from '@sparticuz/chromium'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const WEAKENING = new Set(['--disable-web-security', '--allow-running-insecure-content'])

export async function launchBrowser (): Promise<Browser> {
  return await puppeteer.launch({
    executablePath: await chromium.executablePath(),
    args: chromium.args.filter(a => !WEAKENING.has(a)),
    headless: true,
    defaultViewport: { width: 1100, height: 760 }
  })
}

/** Save what `page` shows when `fn` fails (the path is in the error), then fail as it did. */
export async function withScreenshotOnFailure<T> (page: Page, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    const path = join(tmpdir(), `ipms-${name}-${Date.now()}.png`)
    await page.screenshot({ path, fullPage: true }).catch(() => {})
    if (err instanceof Error) err.message += `\n(screenshot: ${path})`
    throw err
  }
}
