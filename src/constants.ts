/**
 * Protocol constants, limits and defaults of IPMS, in one place.
 *
 * Every number here is part of the wire protocol or of what a reader accepts; `docs/PROTOCOL.md`
 * lists them with their reasons. Changing one that is marked "wire" changes the protocol.
 */

const KiB = 1024
const MiB = 1024 * KiB

// ── domain-separation tags (wire): every signature and hash input starts with `tag ‖ 0x00` ──────
export const TAG_MAIL = 'ipms/mail/v1'
export const TAG_ENVELOPE = 'ipms/envelope/v1'
export const TAG_POW = 'ipms/pow/v1'
export const TAG_IDENTITY_FILE = 'ipms/identity/v1'
export const TAG_PRUNE = 'ipms/prune/v1'
export const TAG_GRANT = 'ipms/grant/v1'
export const TAG_CARD = 'ipms/card/v1'
export const TAG_RECEIPT = 'ipms/receipt/v1'
export const TAG_PASS = 'ipms/pass/v1'
/** AAD label of a backup file's box (docs/PROTOCOL.md §6.1). */
export const TAG_BACKUP = 'ipms/backup/v1'

/** Format version carried as `v` by every structure of this protocol generation (wire). */
export const FORMAT_VERSION = 1

// ── mail and envelope limits (wire: a reader refuses anything above them) ──────────────────────
/** Largest encoded plaintext mail (dag-cbor, before padding), attachments included. */
export const MAX_MAIL_BYTES = 3 * MiB
/**
 * Largest envelope block. The envelope is a single IPFS block; 4 MiB keeps it within bitswap's
 * default message cap so that any IPFS node can still move it. A 3 MiB mail pads to 3 MiB + 64 KiB.
 */
export const MAX_ENVELOPE_BYTES = 4 * MiB
/** Subject length in UTF-8 bytes: one RFC 5322 header line. */
export const MAX_SUBJECT_BYTES = 998
/** Attachments per mail. */
export const MAX_ATTACHMENTS = 64
/** Attachment file name in UTF-8 bytes (a common file-system limit). */
export const MAX_FILENAME_BYTES = 255
/** Attachment media type in bytes (RFC 6838 allows 127 per part). */
export const MAX_MEDIA_TYPE_BYTES = 255
/** Mail id and inReplyTo in bytes. */
export const MAX_MAIL_ID_BYTES = 128

// ── padding buckets (wire) ─────────────────────────────────────────────────────────────────────
/** Smallest padded plaintext: every short mail looks the same size. */
export const MIN_PADDED_BYTES = 1 * KiB
/** Up to this size padded plaintexts are powers of two; above it, Padmé (≤ 12 % overhead). */
export const POW2_PADDING_LIMIT = 64 * KiB

// ── envelope crypto sizes (wire) ───────────────────────────────────────────────────────────────
export const X25519_KEY_BYTES = 32
export const ED25519_KEY_BYTES = 32
export const ED25519_SIGNATURE_BYTES = 64
export const XCHACHA_NONCE_BYTES = 24
export const POLY1305_TAG_BYTES = 16

// ── proof-of-work (wire) ───────────────────────────────────────────────────────────────────────
/** Bytes of the PoW nonce; challenge (32) ‖ nonce (8) = 40 bytes, one SHA-256 block. */
export const POW_NONCE_BYTES = 8
/** Lowest difficulty an inbox may ask for (0 = no work, for tests and benchmarks only). */
export const MIN_POW_BITS = 0
/**
 * Default inbox difficulty: 2^24 expected hashes. The solver does ~15.5 M/s on the 2-core reference
 * machine (bench/RESULTS.md), so a solve takes 1.1 s on average, 0.75 s at the median; a 4-core
 * laptop halves that. docs/PROTOCOL.md §5.1 gives the reasoning.
 */
export const DEFAULT_POW_BITS = 24
/** Highest difficulty an inbox may ask for: beyond it nobody could deliver. */
export const MAX_POW_BITS = 40
/**
 * Envelope size (log2 bytes) up to which a stamp costs the inbox's difficulty: every doubling of
 * the envelope from 2^17 bytes on asks one more bit (docs/PROTOCOL.md §5.2), so that from 64 KiB up
 * a byte of a host's storage costs a sender the same work whatever the size of its mails, while
 * text mail (under 128 KiB) pays the inbox's difficulty alone.
 */
export const POW_BASE_SIZE_LOG2 = 16
/** Highest difficulty of one stamp: an inbox's highest plus the extra of a MAX_ENVELOPE_BYTES envelope (6). */
export const MAX_STAMP_BITS = MAX_POW_BITS + 6

// ── inboxes (wire: part of every inbox address) ────────────────────────────────────────────────
/** OrbitDB access controller type of inboxes. */
export const INBOX_ACCESS_TYPE = 'ipms-inbox'
/** OrbitDB database type of inboxes. */
export const INBOX_DATABASE_TYPE = 'ipms-mailbox'
/**
 * Version of the `canAppend` rules. The controller's code is not part of the address, so any change
 * to what an inbox accepts must bump this, which gives every inbox a new address.
 */
export const INBOX_RULES_VERSION = 2
/** Entry hashes one PRUNE may list: bounds the work of checking and applying one entry. */
export const MAX_PRUNE_ENTRIES = 1000
/**
 * How long the owner's read waits for a pending mail's envelope, from when the owner's node first
 * saw its entry, before pruning it unread: no replica provided it (a hostile co-host's entry
 * without an envelope must not keep an inbox pending for ever). 7 days, ms.
 */
export const ENVELOPE_WAIT_MS = 7 * 24 * 60 * 60_000
/** OrbitDB entry version of inbox entries (`entry.v`): OrbitDB 4 writes 2. */
export const ENTRY_VERSION = 2
/**
 * Hashes one entry may link to in `next`, and in `refs`: a writer with more heads links the newest
 * MAX_ENTRY_LINKS and leaves the others for its next entries (docs/PROTOCOL.md §9.3).
 */
export const MAX_ENTRY_LINKS = 64
/**
 * Highest Lamport time (`entry.clock.time`) of an inbox entry: 2^40, far above any log a person's
 * inbox reaches (each entry adds at most 1, and each MAIL costs a stamp), far below 2^53, so that
 * time arithmetic stays exact.
 */
export const MAX_ENTRY_CLOCK_TIME = 2 ** 40

// ── grants and address cards (wire) ───────────────────────────────────────────────────────────
/** Text prefix of an encoded grant (then base58btc multibase of its dag-cbor). */
export const GRANT_PREFIX = 'ipmsgrant'
/** Text prefix of an encoded address card. */
export const CARD_PREFIX = 'ipmscard'
/** Hosts one card may list. */
export const MAX_CARD_HOSTS = 16
/** Multiaddrs per host in a card. */
export const MAX_CARD_ADDRS = 8
/** Largest encoded grant or card, bytes (before the text encoding). */
export const MAX_SIGNED_RECORD_BYTES = 8 * 1024

// ── contacts' passes (wire, docs/PROTOCOL.md §11.3) ──────────────────────────────────────────
/** Text prefix of an encoded pass. */
export const PASS_PREFIX = 'ipmspass'
/** Bytes of a pass's random id. */
export const PASS_ID_BYTES = 16
/** Lifetime of a pass the CLI issues when none is asked: a year (passes cannot be revoked, expiry bounds them). */
export const DEFAULT_PASS_TTL_MS = 365 * 24 * 60 * 60_000

/** How long a card the CLI signs is served as a DHT record: 30 days (re-signed past half of it). */
export const DEFAULT_CARD_TTL_MS = 30 * 24 * 60 * 60_000
/** The longest lifetime a DHT node accepts in a hosts record (`expires - ts`): 90 days. */
export const MAX_HOSTS_RECORD_LIFETIME_MS = 90 * 24 * 60 * 60_000
/** The namespace of IPMS records in the DHT: keys are `/ipms/<peer-id>`. */
export const HOSTS_RECORD_NAMESPACE = 'ipms'
/** The private IPMS DHT's protocol (not the public IPFS DHT's `/ipfs/kad/1.0.0`). */
export const DHT_PROTOCOL = '/ipms/kad/1.0.0'

// ── sending ────────────────────────────────────────────────────────────────────────────────────
/**
 * A sender whose clock is within this of a host's (the `time` of an `ERR_STALE` refusal) takes its
 * clock for right and stamps a mail refused as stale again; further apart, it says whose clock is
 * off instead. 10 minutes: well inside the hosts' default tolerance of a day, well above clock drift.
 */
export const CLOCK_AGREEMENT_MS = 10 * 60_000

/**
 * How long the outbox retries a mail by default, ms, from when it was handed over (wall clock):
 * past it the mail is given up, with the reason (`outboxMaxAgeDays` in config.json).
 */
export const OUTBOX_MAX_AGE_MS = 7 * 24 * 60 * 60_000
