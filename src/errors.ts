/**
 * Typed errors of IPMS (docs/PROTOCOL.md §8).
 *
 * Every error a caller can act on is an `IpmsError` with a stable `code` (never reworded, safe to
 * switch on) and a message that says what happened and what to do about it. The codes are one
 * closed set, `ErrorCode`: the CLI's exit-code table is declared over it (the compiler proves it
 * complete), and a code read from a peer or a file is accepted only if `isErrorCode` says it is
 * one. Checks of untrusted data return a `Problem` (a code and a message), never prose a caller
 * would have to match. Messages never contain key material or plaintext.
 */

/** Every error code of IPMS: PROTOCOL §8's and the CLI's. Add one here, then to the exit-code table. */
export const ERROR_CODES = [
  // a caller's mistake
  'ERR_INVALID_ARGUMENT', 'ABORT_ERR', 'ERR_USAGE',
  // identities (§6)
  'ERR_INVALID_PEER_ID', 'ERR_UNSUPPORTED_KEY_TYPE', 'ERR_IDENTITY_NOT_FOUND', 'ERR_IDENTITY_EXISTS',
  'ERR_PASSPHRASE_REQUIRED', 'ERR_WRONG_PASSPHRASE', 'ERR_KEY_FILE_CORRUPT', 'ERR_KEY_FILE_INSECURE',
  // envelopes and mail (§3, §4)
  'ERR_TOO_LARGE', 'ERR_MALFORMED', 'ERR_UNSUPPORTED_VERSION', 'ERR_NOT_FOR_RECIPIENT', 'ERR_TAMPERED',
  'ERR_BAD_SIGNATURE', 'ERR_MISADDRESSED', 'ERR_INVALID_MAIL', 'ERR_POW_WORKER',
  // inboxes and sync (§9, §10)
  'ERR_ENTRY_REFUSED', 'ERR_HOME_IN_USE', 'ERR_SYNC', 'ERR_SYNC_REFUSED', 'ERR_STORAGE_FULL', 'ERR_NO_REPLICA',
  'ERR_TOO_MANY_FILES',
  'ERR_LISTEN',
  // grants, cards, passes (§11)
  'ERR_INVALID_RECORD', 'ERR_GRANT_EXPIRED', 'ERR_BAD_PASS', 'ERR_PASS_EXPIRED',
  // delivery (§12): a host's refusals, then the sender's own outcomes
  'ERR_NOT_HOSTED', 'ERR_BAD_POW', 'ERR_BAD_ENVELOPE', 'ERR_BAD_RECEIPT', 'ERR_RATE_LIMITED', 'ERR_STALE',
  'ERR_OVER_QUOTA', 'ERR_DELIVERY', 'ERR_NO_HOST', 'ERR_TIMEOUT', 'ERR_REFUSED',
  // the DHT (§14)
  'ERR_NO_DHT', 'ERR_NO_DHT_PEER', 'ERR_NOT_PUBLISHED',
  // the owner's home (§13)
  'ERR_CONFIG', 'ERR_UNKNOWN_RECIPIENT', 'ERR_CONTACT_EXISTS', 'ERR_NOT_FOUND',
  // the daemon's local API (docs/API.md)
  'ERR_UNAUTHORIZED', 'ERR_FORBIDDEN', 'ERR_METHOD_NOT_ALLOWED', 'ERR_NO_DAEMON', 'ERR_NO_WEB',
  // anything else: a bug
  'ERR_UNEXPECTED'
] as const

/** One of IPMS's error codes. */
export type ErrorCode = typeof ERROR_CODES[number]

const CODES: ReadonlySet<string> = new Set(ERROR_CODES)

/** True when `value` is one of IPMS's error codes (for codes read from a peer or a file). Never throws. */
export const isErrorCode = (value: unknown): value is ErrorCode => typeof value === 'string' && CODES.has(value)

/** What a check found wrong with untrusted data: the code a caller acts on, and what to say. */
export interface Problem<C extends ErrorCode = ErrorCode> {
  code: C
  message: string
}

/** The problem `code` with `message`, or undefined when there is no message (nothing wrong). */
export const problemOf = <C extends ErrorCode>(code: C, message: string | undefined): Problem<C> | undefined =>
  message === undefined ? undefined : { code, message }

export interface IpmsErrorOptions {
  /** The lower-level error this one explains. */
  cause?: unknown
}

export class IpmsError extends Error {
  /** Stable machine-readable code, e.g. `ERR_BAD_SIGNATURE`. */
  readonly code: ErrorCode

  constructor (code: ErrorCode, message: string, options: IpmsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.name = new.target.name
  }
}

/** An argument given by the caller is not acceptable (wrong type, out of range). */
export class InvalidArgumentError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_INVALID_ARGUMENT', message, options) }
}

/** A wait was cancelled through its `AbortSignal`. Named `AbortError` as in DOM and libp2p. */
export class AbortError extends IpmsError {
  constructor (message = 'The operation was aborted', options?: IpmsErrorOptions) {
    super('ABORT_ERR', message, options)
    this.name = 'AbortError'
  }
}

// ── identities ────────────────────────────────────────────────────────────────────────────────

/** A string that is not a peer-id at all (empty, bad base58/CID, bad multihash). */
export class InvalidPeerIdError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_INVALID_PEER_ID', message, options) }
}

/** A well-formed key or peer-id of a type IPMS cannot use (RSA, secp256k1, ECDSA): only Ed25519. */
export class UnsupportedKeyTypeError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_UNSUPPORTED_KEY_TYPE', message, options) }
}

/** No identity file in the IPMS home. */
export class IdentityNotFoundError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_IDENTITY_NOT_FOUND', message, options) }
}

/** Refused to overwrite an existing identity. */
export class IdentityExistsError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_IDENTITY_EXISTS', message, options) }
}

/** The identity is encrypted and no passphrase was given. */
export class PassphraseRequiredError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_PASSPHRASE_REQUIRED', message, options) }
}

/** The passphrase does not decrypt the identity. */
export class WrongPassphraseError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_WRONG_PASSPHRASE', message, options) }
}

/** An identity or kubo config file exists but cannot be read as one. */
export class CorruptKeyFileError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_KEY_FILE_CORRUPT', message, options) }
}

// ── envelopes and mail ────────────────────────────────────────────────────────────────────────

/** Bytes over a protocol size limit; refused before decoding. */
export class TooLargeError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_TOO_LARGE', message, options) }
}

/** Bytes that do not decode (bad CBOR) or decode to the wrong shape. */
export class MalformedError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_MALFORMED', message, options) }
}

/** A format version this implementation does not know. */
export class UnsupportedVersionError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_UNSUPPORTED_VERSION', message, options) }
}

/** The envelope was not sealed to this key (or its header was damaged). */
export class NotForRecipientError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_NOT_FOR_RECIPIENT', message, options) }
}

/** The envelope was sealed to this key but its ciphertext was altered. */
export class TamperedError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_TAMPERED', message, options) }
}

/** The sender's signature does not verify against the key inside `from`. */
export class BadSignatureError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_BAD_SIGNATURE', message, options) }
}

/** A correctly signed mail whose `to` is not the reader: forwarded or re-sealed by someone else. */
export class MisaddressedError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_MISADDRESSED', message, options) }
}

/** A mail to be sealed breaks a limit or rule of the mail model (subject length, names …). */
export class InvalidMailError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_INVALID_MAIL', message, options) }
}

// ── identities (added) ────────────────────────────────────────────────────────────────────────

/** A private key file that other users can read or write (mode & 0o077): refused, as ssh does. */
export class InsecureKeyFileError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_KEY_FILE_INSECURE', message, options) }
}

// ── proof-of-work ─────────────────────────────────────────────────────────────────────────────

/** A PoW worker thread failed or exited while solving; the pool is rebuilt on the next solve. */
export class PowWorkerError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_POW_WORKER', message, options) }
}

// ── inboxes ───────────────────────────────────────────────────────────────────────────────────

/** The inbox's access rules refuse an entry (bad payload, bad PoW, PRUNE not signed by the owner). */
export class RefusedEntryError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_ENTRY_REFUSED', message, options) }
}

/**
 * An envelope block whose length is not the `size` its mail's entry states (the size its stamp paid
 * for, docs/PROTOCOL.md §5.2): not stored. A host refuses such a delivery with this code.
 */
export class EnvelopeSizeError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_BAD_ENVELOPE', message, options) }
}

// ── nodes (added) ─────────────────────────────────────────────────────────────────────────────

/** The IPMS home is already used by a running node (another process, or this one). */
export class HomeInUseError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_HOME_IN_USE', message, options) }
}

/** A sync session failed: the peer broke the protocol, refused, or did not answer in time. */
export class SyncError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_SYNC', message, options) }
}

/** The peer does not serve this inbox to us (not hosted there, or no grant). */
export class SyncRefusedError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_SYNC_REFUSED', message, options) }
}

/**
 * A write failed because the disk is full (ENOSPC): on a host, a delivery refused as
 * `ERR_STORAGE_FULL`; on the owner's side, a read that stored nothing more (and pruned nothing).
 */
export class StorageFullError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_STORAGE_FULL', message, options) }
}

/**
 * The process ran out of file descriptors (EMFILE, or a LevelDB that failed to open for that
 * reason): `ulimit -n` is too low for what this node keeps open.
 */
export class TooManyFilesError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_TOO_MANY_FILES', message, options) }
}

/** The node cannot listen where it was told: the port is taken, reserved, or the address is not this machine's. */
export class ListenError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_LISTEN', message, options) }
}

/** None of the replicas given for an inbox could be synced. */
export class NoReplicaError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_NO_REPLICA', message, options) }
}

// ── grants and cards ──────────────────────────────────────────────────────────────────────────

/** A grant or address card that is malformed, not signed by its owner, or for someone else. */
export class InvalidRecordError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_INVALID_RECORD', message, options) }
}

/** A grant past its expiry. */
export class GrantExpiredError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_GRANT_EXPIRED', message, options) }
}

/** A contact's pass past its expiry (docs/PROTOCOL.md §11.3); a host refuses it with the same code. */
export class PassExpiredError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_PASS_EXPIRED', message, options) }
}

// ── delivery ──────────────────────────────────────────────────────────────────────────────────

/**
 * A host refused a mail, or answered without a valid receipt. `code` is the host's reason, one of
 * DELIVER_REFUSAL_CODES (a host's code outside them reads as ERR_REFUSED), or ERR_BAD_RECEIPT.
 */
export class DeliveryRefusedError extends IpmsError {
  /** With ERR_STALE: the refusing host's clock (ms since the epoch) when it refused, if it said. */
  readonly hostTime?: number
  /** With ERR_GRANT_EXPIRED: when the host's grant for the inbox expired (ms since the epoch), if it said. */
  readonly expired?: number
  constructor (code: ErrorCode, message: string, options?: IpmsErrorOptions & { hostTime?: number, expired?: number }) {
    super(code, message, options)
    if (options?.hostTime !== undefined) this.hostTime = options.hostTime
    if (options?.expired !== undefined) this.expired = options.expired
  }
}

/** A delivery did not complete (the host could not be reached, or the stream broke). */
export class DeliveryError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_DELIVERY', message, options) }
}

/** Fewer hosts than wanted gave a receipt; `result` holds the stamped mail for a later retry. */
export class NoHostError extends IpmsError {
  readonly result: unknown
  constructor (message: string, result: unknown, options?: IpmsErrorOptions) {
    super('ERR_NO_HOST', message, options)
    this.result = result
  }
}

// ── the owner's home: config, contacts, local mail ─────────────────────────────────────────────

/** The home's config file is not valid JSON or has a wrong field. */
export class ConfigError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_CONFIG', message, options) }
}

/** A recipient given by name or peer-id for which no contact or card is known. */
export class UnknownRecipientError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_UNKNOWN_RECIPIENT', message, options) }
}

/** A contact name already taken by another peer. */
export class ContactExistsError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_CONTACT_EXISTS', message, options) }
}

/** Something asked for by name or id is not there (a mail, a contact, a host). */
export class NotFoundError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_NOT_FOUND', message, options) }
}

// ── the daemon's local API (docs/API.md) ───────────────────────────────────────────────────────

/** A request to the local API without the cookie of the running daemon (`<home>/api.cookie`), or with a wrong one. */
export class UnauthorizedError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_UNAUTHORIZED', message, options) }
}

/** A request to the API's TCP listener with a foreign `Host` (DNS rebinding) or `Origin` (another site). */
/** The running daemon serves no web inbox (`ipms daemon --web`, config `web`). */
export class NoWebError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_NO_WEB', message, options) }
}

export class ForbiddenError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_FORBIDDEN', message, options) }
}

/** No daemon answers on this home (`ipms events` needs one), or it stopped answering mid-request. */
export class NoDaemonError extends IpmsError {
  constructor (message: string, options?: IpmsErrorOptions) { super('ERR_NO_DAEMON', message, options) }
}
