/**
 * The CLI's exit codes: one per kind of failure a user or a script acts on differently
 * (README, "Exit codes"). The table maps error codes (IpmsError.code) to them, in one place.
 */

export const EXIT = Object.freeze({
  OK: 0,
  /** A bug or an unexpected failure (run again with --verbose and report it). */
  FAILURE: 1,
  /** Bad arguments or a bad mail: fix the command line. */
  USAGE: 2,
  /** The home has no identity yet: run `ipms init`. */
  NO_IDENTITY: 3,
  /** `ipms init` on a home that already has one (use --force to replace it). */
  IDENTITY_EXISTS: 4,
  /** The identity is encrypted and the passphrase is missing or wrong. */
  PASSPHRASE: 5,
  /** Another ipms process (a daemon?) uses this home. */
  HOME_IN_USE: 6,
  /** The identity file is damaged or readable by others. */
  KEY_FILE: 7,
  /** The recipient is not a known contact, card or peer-id with a known card. */
  UNKNOWN_RECIPIENT: 8,
  /** A mail, contact or host named on the command line does not exist. */
  NOT_FOUND: 9,
  /** A card or grant is damaged, forged, expired or for someone else. */
  BAD_RECORD: 10,
  /** No host could be reached: the mail waits in the outbox and is retried. */
  UNREACHABLE: 11,
  /** The hosts refused the mail (not hosted, over quota …): it waits in the outbox. */
  REFUSED: 12,
  /** A config, contacts or hosts file in the home is damaged. */
  CONFIG: 13,
  /** This home's disk is full: nothing more could be stored (nothing was pruned on the hosts). */
  STORAGE_FULL: 14,
  /** Interrupted (Ctrl-C): whatever was done is kept, nothing half-done is left. */
  INTERRUPTED: 130
})

const BY_CODE: Record<string, number> = {
  ERR_INVALID_ARGUMENT: EXIT.USAGE,
  ERR_INVALID_PEER_ID: EXIT.USAGE,
  ERR_UNSUPPORTED_KEY_TYPE: EXIT.USAGE,
  ERR_INVALID_MAIL: EXIT.USAGE,
  ERR_TOO_LARGE: EXIT.USAGE,
  ERR_CONTACT_EXISTS: EXIT.USAGE,
  ERR_IDENTITY_NOT_FOUND: EXIT.NO_IDENTITY,
  ERR_IDENTITY_EXISTS: EXIT.IDENTITY_EXISTS,
  ERR_PASSPHRASE_REQUIRED: EXIT.PASSPHRASE,
  ERR_WRONG_PASSPHRASE: EXIT.PASSPHRASE,
  ERR_HOME_IN_USE: EXIT.HOME_IN_USE,
  ERR_KEY_FILE_CORRUPT: EXIT.KEY_FILE,
  ERR_KEY_FILE_INSECURE: EXIT.KEY_FILE,
  ERR_UNKNOWN_RECIPIENT: EXIT.UNKNOWN_RECIPIENT,
  ERR_NOT_FOUND: EXIT.NOT_FOUND,
  ERR_INVALID_RECORD: EXIT.BAD_RECORD,
  ERR_GRANT_EXPIRED: EXIT.BAD_RECORD,
  ERR_PASS_EXPIRED: EXIT.BAD_RECORD,
  ERR_UNSUPPORTED_VERSION: EXIT.BAD_RECORD,
  ERR_NO_HOST: EXIT.UNREACHABLE,
  ERR_NO_REPLICA: EXIT.UNREACHABLE,
  ERR_DELIVERY: EXIT.UNREACHABLE,
  ERR_SYNC: EXIT.UNREACHABLE,
  ERR_REFUSED: EXIT.REFUSED,
  ERR_SYNC_REFUSED: EXIT.REFUSED,
  ERR_CONFIG: EXIT.CONFIG,
  ERR_STORAGE_FULL: EXIT.STORAGE_FULL,
  ABORT_ERR: EXIT.INTERRUPTED
}

/** The exit code for an error code; FAILURE for anything not in the table. */
export const exitCodeFor = (code: string | undefined): number => (code === undefined ? undefined : BY_CODE[code]) ?? EXIT.FAILURE
