/**
 * Asking a terminal for a passphrase without echoing it. Only a terminal is asked: in scripts and
 * pipes the passphrase comes from `IPMS_PASSPHRASE` (README, "Environment").
 */
import { AbortError, PassphraseRequiredError } from '../errors.ts'

export const PASSPHRASE_ENV = 'IPMS_PASSPHRASE'

/** Read one line from the terminal with echo off. PassphraseRequiredError when stdin is not a terminal. */
export async function askHidden (question: string, signal?: AbortSignal): Promise<string> {
  const stdin = process.stdin
  if (stdin.isTTY !== true) {
    throw new PassphraseRequiredError(`A passphrase is needed and there is no terminal to ask: set ${PASSPHRASE_ENV}`)
  }
  process.stderr.write(question)
  stdin.setRawMode(true)
  stdin.setEncoding('utf8')
  stdin.resume()
  return await new Promise<string>((resolve, reject) => {
    let text = ''
    const finish = (): void => {
      stdin.off('data', onData)
      signal?.removeEventListener('abort', onAbort)
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
    }
    const onAbort = (): void => { finish(); reject(new AbortError('Interrupted at the passphrase prompt')) }
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') { finish(); resolve(text); return }
        if (ch === '\u0003') { onAbort(); return }
        text = ch === '\u007f' || ch === '\b' ? text.slice(0, -1) : text + ch
      }
    }
    stdin.on('data', onData)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** The passphrase from the environment, else asked on the terminal. */
export async function passphrase (question: string, signal?: AbortSignal): Promise<string> {
  const fromEnv = process.env[PASSPHRASE_ENV]
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  return await askHidden(question, signal)
}
