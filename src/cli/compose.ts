/**
 * Writing a mail's text on a terminal (README, "Sending"): in `$VISUAL` or `$EDITOR` when one is
 * set, as git and mutt do, else typed at a prompt until Ctrl-D. Either way the text lives in a
 * draft file, `<home>/drafts/<time>-<random>.txt` (0600), until the mail is handed over (sealed
 * into the outbox, or to the daemon): an interrupted or refused send leaves it there, and says
 * where (`ipms send TO FILE` sends it). Nothing typed is lost to Ctrl-C.
 */
import { spawn } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import { once } from 'node:events'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { AbortError, InvalidArgumentError } from '../errors.ts'
import { MAX_MAIL_BYTES } from '../constants.ts'
import type { Output } from './output.ts'

export const DRAFTS_DIR = 'drafts'

/** A draft file: its path, its bytes, and `done()` to remove it once the mail is handed over. */
export interface DraftFile {
  path: string
  bytes: Uint8Array
  /** What to tell the user when the send fails before the mail is handed over. */
  kept: string
  done: () => Promise<void>
}

/** The editor a user chose, if any (`$VISUAL` first, as git does). */
export const chosenEditor = (env: NodeJS.ProcessEnv = process.env): string | undefined =>
  [env.VISUAL, env.EDITOR].find(e => e !== undefined && e.trim() !== '')

async function newDraftPath (home: string): Promise<string> {
  const dir = join(home, DRAFTS_DIR)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  return join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}.txt`)
}

/**
 * Bytes typed at the terminal until Ctrl-D, each line appended to `path` as it comes (so that even
 * a killed process leaves it there); on Ctrl-C (the signal), what was typed so far and `interrupted`.
 */
async function typed (path: string, signal: AbortSignal): Promise<{ bytes: Buffer, interrupted: boolean }> {
  const chunks: Buffer[] = []
  let total = 0
  const stdin = process.stdin
  const ended = once(stdin, 'end').then(() => false)
  const aborted = new Promise<boolean>(resolve => {
    if (signal.aborted) resolve(true)
    else signal.addEventListener('abort', () => { resolve(true) }, { once: true })
  })
  const onData = (chunk: Buffer): void => {
    total += chunk.byteLength
    if (total > MAX_MAIL_BYTES) return
    chunks.push(chunk)
    appendFileSync(path, chunk)
  }
  stdin.on('data', onData)
  try {
    const interrupted = await Promise.race([ended, aborted])
    return { bytes: Buffer.concat(chunks), interrupted }
  } finally {
    stdin.off('data', onData)
    stdin.pause()
  }
}

/**
 * The text of a mail written on the terminal (UTF-8 is checked by the caller), kept in a draft file. Throws AbortError on Ctrl-C
 * (the draft kept, its path told) and InvalidArgumentError when the editor fails.
 */
export async function composeOnTerminal (home: string, out: Output, signal: AbortSignal, options: { again: string }): Promise<DraftFile> {
  const path = await newDraftPath(home)
  const kept = (): string => `Your text is kept in ${path}: send it with ${options.again} ${path}`
  const editor = chosenEditor()
  if (editor !== undefined) {
    await writeFile(path, '', { mode: 0o600 })
    // `sh -c` as git runs it: EDITOR may carry arguments ("code --wait").
    const child = spawn('sh', ['-c', `${editor} "$1"`, 'sh', path], { stdio: 'inherit' })
    const [code] = await once(child, 'exit') as [number | null]
    if (code !== 0) throw new InvalidArgumentError(`The editor (${editor}) exited ${String(code)}: nothing sent. ${kept()}`)
  } else {
    await writeFile(path, '', { mode: 0o600 })
    out.info('Type the message, then Ctrl-D on a line of its own (Ctrl-C keeps what you typed as a draft):')
    const { bytes, interrupted } = await typed(path, signal)
    if (interrupted) {
      if (bytes.byteLength === 0) await rm(path, { force: true })
      throw new AbortError(bytes.byteLength === 0 ? 'Interrupted: nothing was typed' : `Interrupted. ${kept()}`)
    }
  }
  return { path, bytes: await readFile(path), kept: kept(), done: async () => { await rm(path, { force: true }) } }
}
