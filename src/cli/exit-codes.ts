/**
 * The CLI's exit codes: one per kind of failure a user or a script acts on differently, from
 * sendmail's sysexits.h (64–78) where one fits, so that none is in the range Node uses for its own
 * failures (1–14: Node exits 13 on an unsettled top-level await). The README's "Exit codes" table
 * is the reference for users; test/cli/exit-codes.test.ts checks it says exactly what this file says.
 */
import { isErrorCode, type ErrorCode } from '../errors.ts'

export const EXIT = Object.freeze({
  OK: 0,
  /** EX_USAGE: bad arguments or a mail that cannot be sent as written: fix the command line. */
  USAGE: 64,
  /** EX_DATAERR: a card, grant, pass or other record is damaged, forged, expired or for someone else. */
  BAD_RECORD: 65,
  /** EX_NOINPUT: the home has no identity yet: run `ipms init`. */
  NO_IDENTITY: 66,
  /** EX_NOUSER: the recipient, or a mail, contact or host named on the command line, is not known here. */
  NOT_FOUND: 67,
  /** EX_UNAVAILABLE: no host could be reached: the mail waits in the outbox and is retried. */
  UNREACHABLE: 69,
  /** EX_SOFTWARE: a bug or an unexpected failure (run again with --verbose and report it). */
  FAILURE: 70,
  /** EX_OSERR: the system refused a resource: too many open files (raise `ulimit -n`), or the port to listen on (taken or reserved). */
  OS_LIMIT: 71,
  /** EX_CANTCREAT: `ipms init` on a home that already has an identity (--force replaces it). */
  IDENTITY_EXISTS: 73,
  /** EX_IOERR: this home's disk is full: nothing more could be stored (nothing was pruned on the hosts). */
  STORAGE_FULL: 74,
  /** EX_TEMPFAIL: another ipms process (a daemon?) uses this home: try again later. */
  HOME_IN_USE: 75,
  /** EX_PROTOCOL: the hosts refused the mail (not hosted, over quota …): it waits in the outbox. */
  REFUSED: 76,
  /** EX_NOPERM: the passphrase is missing or wrong, or the key file is readable by others. */
  PERMISSION: 77,
  /** EX_CONFIG: a file of the home (config, contacts, hosts, the identity) is damaged. */
  CONFIG: 78,
  /** Interrupted (Ctrl-C, SIGTERM): whatever was done is kept, nothing half-done is left (128 + SIGINT). */
  INTERRUPTED: 130
})

/** One of the CLI's exit codes. */
export type ExitCode = typeof EXIT[keyof typeof EXIT]

/** Every error code's exit code: `satisfies` makes the compiler refuse a code left out. */
export const EXIT_BY_CODE = Object.freeze({
  ERR_USAGE: EXIT.USAGE,
  ERR_INVALID_ARGUMENT: EXIT.USAGE,
  ERR_INVALID_PEER_ID: EXIT.USAGE,
  ERR_UNSUPPORTED_KEY_TYPE: EXIT.USAGE,
  ERR_INVALID_MAIL: EXIT.USAGE,
  ERR_TOO_LARGE: EXIT.USAGE,
  ERR_CONTACT_EXISTS: EXIT.USAGE,
  ERR_METHOD_NOT_ALLOWED: EXIT.USAGE,
  ERR_INVALID_RECORD: EXIT.BAD_RECORD,
  ERR_GRANT_EXPIRED: EXIT.BAD_RECORD,
  ERR_PASS_EXPIRED: EXIT.BAD_RECORD,
  ERR_BAD_PASS: EXIT.BAD_RECORD,
  ERR_UNSUPPORTED_VERSION: EXIT.BAD_RECORD,
  ERR_MALFORMED: EXIT.BAD_RECORD,
  ERR_NOT_FOR_RECIPIENT: EXIT.BAD_RECORD,
  ERR_TAMPERED: EXIT.BAD_RECORD,
  ERR_BAD_SIGNATURE: EXIT.BAD_RECORD,
  ERR_MISADDRESSED: EXIT.BAD_RECORD,
  ERR_IDENTITY_NOT_FOUND: EXIT.NO_IDENTITY,
  ERR_UNKNOWN_RECIPIENT: EXIT.NOT_FOUND,
  ERR_NOT_FOUND: EXIT.NOT_FOUND,
  ERR_NO_HOST: EXIT.UNREACHABLE,
  ERR_NO_REPLICA: EXIT.UNREACHABLE,
  ERR_DELIVERY: EXIT.UNREACHABLE,
  ERR_TIMEOUT: EXIT.UNREACHABLE,
  ERR_SYNC: EXIT.UNREACHABLE,
  ERR_NO_DHT: EXIT.UNREACHABLE,
  ERR_NO_DHT_PEER: EXIT.UNREACHABLE,
  ERR_NOT_PUBLISHED: EXIT.UNREACHABLE,
  ERR_NO_DAEMON: EXIT.UNREACHABLE,
  ERR_NO_WEB: EXIT.UNREACHABLE,
  ERR_UNEXPECTED: EXIT.FAILURE,
  ERR_POW_WORKER: EXIT.FAILURE,
  ERR_ENTRY_REFUSED: EXIT.FAILURE,
  ERR_IDENTITY_EXISTS: EXIT.IDENTITY_EXISTS,
  ERR_STORAGE_FULL: EXIT.STORAGE_FULL,
  ERR_TOO_MANY_FILES: EXIT.OS_LIMIT,
  ERR_LISTEN: EXIT.OS_LIMIT,
  ERR_HOME_IN_USE: EXIT.HOME_IN_USE,
  ERR_REFUSED: EXIT.REFUSED,
  ERR_SYNC_REFUSED: EXIT.REFUSED,
  ERR_NOT_HOSTED: EXIT.REFUSED,
  ERR_BAD_POW: EXIT.REFUSED,
  ERR_BAD_ENVELOPE: EXIT.REFUSED,
  ERR_BAD_RECEIPT: EXIT.REFUSED,
  ERR_RATE_LIMITED: EXIT.REFUSED,
  ERR_STALE: EXIT.REFUSED,
  ERR_OVER_QUOTA: EXIT.REFUSED,
  ERR_PASSPHRASE_REQUIRED: EXIT.PERMISSION,
  ERR_WRONG_PASSPHRASE: EXIT.PERMISSION,
  ERR_KEY_FILE_INSECURE: EXIT.PERMISSION,
  ERR_UNAUTHORIZED: EXIT.PERMISSION,
  ERR_FORBIDDEN: EXIT.PERMISSION,
  ERR_CONFIG: EXIT.CONFIG,
  ERR_KEY_FILE_CORRUPT: EXIT.CONFIG,
  ABORT_ERR: EXIT.INTERRUPTED
} satisfies Record<ErrorCode, ExitCode>)

/** The exit code for an error code; FAILURE for anything that is not one of IPMS's codes. Never throws. */
export const exitCodeFor = (code: unknown): ExitCode => isErrorCode(code) ? EXIT_BY_CODE[code] : EXIT.FAILURE
