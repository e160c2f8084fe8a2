/**
 * Asking a terminal for a passphrase without echoing it. Only a terminal is asked: in scripts and
 * pipes the passphrase comes from `IPMS_PASSPHRASE` (README, "Environment").
 */
import { AbortError, InvalidArgumentError, PassphraseRequiredError, WrongPassphraseError } from '../errors.ts'

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

/** Where scripts give a new passphrase (`ipms passphrase`, `ipms export`); people are asked twice. */
export const NEW_PASSPHRASE_ENV = 'IPMS_NEW_PASSPHRASE'

/** A new passphrase: `IPMS_NEW_PASSPHRASE`, else asked twice on the terminal. Never empty. */
export async function newPassphrase (what: string, signal?: AbortSignal): Promise<string> {
  const fromEnv = process.env[NEW_PASSPHRASE_ENV]
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  if (process.stdin.isTTY !== true) throw new PassphraseRequiredError(`A new passphrase (${what}) is needed and there is no terminal to ask: set ${NEW_PASSPHRASE_ENV}`)
  const first = await askHidden(`New passphrase (${what}): `, signal)
  if (first === '') throw new InvalidArgumentError('An empty passphrase protects nothing: nothing was changed')
  if (first !== await askHidden('Again: ', signal)) throw new InvalidArgumentError('The two passphrases differ: nothing was changed')
  return first
}

/** How many times a person at a terminal may mistype a passphrase (as sudo and ssh allow). */
export const PASSPHRASE_TRIES = 3

/**
 * `open` with the passphrase: `IPMS_PASSPHRASE` is tried once (a script's wrong passphrase does not
 * become right); on a terminal a wrong one (WrongPassphraseError) is asked again, three tries in all.
 */
export async function withPassphrase<T> (question: string, open: (passphrase: string) => Promise<T>, signal?: AbortSignal): Promise<T> {
  const fromEnv = process.env[PASSPHRASE_ENV]
  if (fromEnv !== undefined && fromEnv !== '') return await open(fromEnv)
  for (let tries = 1; ; tries++) {
    try {
      return await open(await askHidden(question, signal))
    } catch (err) {
      if (!(err instanceof WrongPassphraseError) || tries === PASSPHRASE_TRIES) throw err
      process.stderr.write(`Wrong passphrase: try again (${PASSPHRASE_TRIES - tries} ${PASSPHRASE_TRIES - tries === 1 ? 'try' : 'tries'} left).\n`)
    }
  }
}
