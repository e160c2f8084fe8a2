/**
 * The `--on-mail` hook (README, "ipms daemon"): a command run for each new mail stored, as notmuch
 * hooks and procmail do. It runs with `sh -c`, one at a time, in order, with the mail in its
 * environment:
 *
 *   IPMS_MAIL_ID       the mail's short id (`ipms read $IPMS_MAIL_ID`)
 *   IPMS_MAIL_FROM     the sender's peer-id (proven by the mail's signature)
 *   IPMS_MAIL_SUBJECT  the subject, made safe: no control or format characters, at most 200 characters
 *   IPMS_HOME          the home
 *
 * Watch out for: the subject is the sender's text, so it is made safe here, but a hook must still
 * quote it ("$IPMS_MAIL_SUBJECT"). A hook that fails, exits non-zero or outlives its time (then
 * its whole process group is killed) is reported through `onError`, never thrown: the daemon goes
 * on. A stopping daemon lets the runs already queued end (each within its time). Its stdout and
 * stderr go to the daemon's stderr (stdout carries the daemon's events).
 */
import { spawn } from 'node:child_process'
import { serialQueue } from '../util/serial-queue.ts'

/** How long a hook may run by default, ms. */
export const DEFAULT_HOOK_TIMEOUT_MS = 60_000
/** The most characters of a subject passed to a hook. */
const MAX_SUBJECT_CHARS = 200
/** Controls, format characters (bidi, zero-width) and line separators. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu

export interface MailHookOptions {
  /** The command, run with `sh -c`. */
  command: string
  /** Bound on one run, ms. Default 60 000. */
  timeoutMs?: number
}

/** The mail a hook is run for. */
export interface HookedMail { id: string, from: string, subject: string }

export interface MailHook {
  /** Queue a run for `mail`. */
  run: (mail: HookedMail) => void
  /** Resolves when every queued run has ended. */
  idle: () => Promise<void>
  /** Resolves when every queued run has ended (each bounded by the timeout); no run is queued after. */
  stop: () => Promise<void>
}

/** A subject fit for an environment variable and a shell script's echo: one line, no controls. */
export function hookSubject (subject: string): string {
  return [...subject.replace(UNSAFE, ' ')].slice(0, MAX_SUBJECT_CHARS).join('')
}

export function createMailHook (options: MailHookOptions & { home: string, onError: (message: string) => void }): MailHook {
  const { command, home, onError } = options
  const timeoutMs = options.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS
  const queue = serialQueue()
  let stopped = false

  const runOnce = async (mail: HookedMail): Promise<void> => {
    const child = spawn('sh', ['-c', command], {
      env: { ...process.env, IPMS_MAIL_ID: mail.id, IPMS_MAIL_FROM: mail.from, IPMS_MAIL_SUBJECT: hookSubject(mail.subject), IPMS_HOME: home },
      stdio: ['ignore', 2, 2],
      // Its own process group, so that a timeout kills what the shell started too.
      detached: true
    })
    const kill = (): void => { try { process.kill(-child.pid!, 'SIGKILL') } catch { /* already gone */ } }
    let timedOut = false
    const timer = setTimeout(() => { timedOut = true; kill() }, timeoutMs)
    try {
      const outcome = await new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve, reject) => {
        child.once('error', reject)
        child.once('close', (code, signal) => { resolve({ code, signal }) })
      })
      if (timedOut) onError(`the --on-mail hook for mail ${mail.id} ran longer than ${timeoutMs} ms and was killed`)
      else if (outcome.code !== 0) onError(`the --on-mail hook for mail ${mail.id} ${outcome.code === null ? `was killed (${String(outcome.signal)})` : `exited ${outcome.code}`}`)
    } catch (err) {
      onError(`the --on-mail hook for mail ${mail.id} could not start: ${(err as Error).message}`)
    } finally {
      clearTimeout(timer)
    }
  }

  return {
    run: mail => {
      if (stopped) return
      void queue.run(async () => {
        try {
          await runOnce(mail)
        } catch (err) { // spawn itself refused (no sh, bad arguments): reported like a failed run
          onError(`the --on-mail hook for mail ${mail.id} could not start: ${(err as Error).message}`)
        }
      })
    },
    idle: async () => { await queue.idle() },
    stop: async () => {
      stopped = true
      await queue.idle()
    }
  }
}
