/**
 * The grant files of a host's home, read incrementally (docs/PROTOCOL.md §11.1; docs/ARCHITECTURE.md,
 * "Hosting"): `<home>/hosting/<owner peer-id>.json` = { grant: "ipmsgrant…", bits, card?: "ipmscard…" }.
 *
 * A host with 10,000 grants reads and verifies each file once. Every file's outcome (its grant, or
 * why it cannot be used) is remembered with the file's stamp (size, mtime, inode: a grant is
 * replaced by a rename, which changes the inode); a later scan re-reads only the files that are new
 * or whose stamp changed, and reports the files that are gone. A scan of named files (what the
 * daemon's directory watcher saw) touches only those. Work is done in batches with a turn of the
 * event loop between them, so that loading thousands of grants never holds up deliveries.
 *
 * Across starts, `.verified` (in the same directory) remembers which file contents were verified
 * for this host, by SHA-256, with their inbox address: a start re-reads every file but checks the
 * signatures only of contents it has not verified before (two signatures and a curve-point check
 * are most of a grant's 0.3 ms). That file is as trusted as the grant files beside it (the home
 * is the operator's); a damaged or foreign one is ignored, and content not in it is verified.
 *
 * Watch for: a grant is checked here for its signature and for this host, not for its expiry
 * (judged by the caller each time it serves, with its own clock); the file is untrusted (size cap,
 * JSON shape, `bits` range, card signed by the same owner).
 */
import { createHash } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { appendFile, readdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { base58btc } from 'multiformats/bases/base58'
import { CARD_PREFIX, GRANT_PREFIX, MAX_POW_BITS, MAX_SIGNED_RECORD_BYTES, MIN_POW_BITS } from '../constants.ts'
import { decodeCbor } from '../crypto/codec.ts'
import { tempName } from '../util/temp-files.ts'
import { timeSlicer } from '../util/time-slice.ts'
import { inboxAddress } from '../access/inbox-address.ts'
import { verifyCard, type AddressCard, type CardHost } from '../hosting/card.ts'
import { verifyGrant, type Grant } from '../hosting/grant.ts'
import { isPlainMap } from '../util/fields.ts'

/** What a grant file holds. */
export interface KeptGrant { grant: string, bits: number, card?: string }

/** A grant file that holds a valid grant for this host (expired or not). */
export interface GrantFile {
  file: string
  grant: Grant
  bits: number
  /** The inbox address (from the owner and `bits`). */
  address: string
  /** The owner's newest card given with the grant. */
  card?: AddressCard
  /** The owner's other hosts (from the card): this host's co-hosts of the inbox. */
  coHosts: CardHost[]
}

/** A grant file that cannot be used, and why. */
export interface BadGrantFile { file: string, reason: string }

export type GrantFileRead = GrantFile | BadGrantFile

/** What changed since the previous scan. */
export interface GrantScan {
  /** Files new or changed (valid or not). */
  changed: GrantFileRead[]
  /** Files gone. */
  removed: string[]
}

/** Largest grant file read: a grant and a card with room for JSON. */
const MAX_FILE_BYTES = 4 * MAX_SIGNED_RECORD_BYTES + 1024

const isGrantFileName = (name: string): boolean => name.endsWith('.json') && !name.startsWith('.')

/** The checked JSON shape of a grant file, or why it is not one. */
function grantFileFields (text: string): { grant: string, bits: number, card?: string } | string {
  let value: unknown
  try { value = JSON.parse(text) } catch { return 'it is not JSON: replace it with `ipms host accept`' }
  if (!isPlainMap(value) || typeof value.grant !== 'string' || (value.card !== undefined && typeof value.card !== 'string')) {
    return 'it is not a grant file ({ grant, bits, card? }): replace it with `ipms host accept`'
  }
  const bits = value.bits
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < MIN_POW_BITS || bits > MAX_POW_BITS) {
    return `its difficulty is not a whole number of bits from ${MIN_POW_BITS} to ${MAX_POW_BITS}`
  }
  return { grant: value.grant, bits, ...(value.card === undefined ? {} : { card: value.card as string }) }
}

const withCard = (file: string, grant: Grant, bits: number, address: string, card: AddressCard | undefined): GrantFile =>
  ({ file, grant, bits, address, ...(card === undefined ? {} : { card }), coHosts: card === undefined ? [] : card.hosts.filter(h => h.peer !== grant.host) })

/** Parse and verify one grant file's text for `host`. Never throws: a bad file is a reason. */
export function readGrantText (file: string, text: string, host?: string): GrantFileRead {
  try {
    const fields = grantFileFields(text)
    if (typeof fields === 'string') return { file, reason: fields }
    // Expiry is the caller's to judge, at each use: 0 is before any grant's expiry.
    const grant = verifyGrant(fields.grant, { ...(host === undefined ? {} : { host }), now: 0 })
    const card = fields.card === undefined ? undefined : verifyCard(fields.card, { owner: grant.owner })
    return withCard(file, grant, fields.bits, inboxAddress(grant.owner, fields.bits), card)
  } catch (err) {
    return { file, reason: (err as Error).message }
  }
}

/** A record's text decoded without its checks: only for bytes verified before (`.verified`). */
const decodeVerified = <T>(text: string, prefix: string, what: string): T =>
  decodeCbor(base58btc.decode(text.trim().slice(prefix.length)), MAX_SIGNED_RECORD_BYTES, what) as T

/** A grant file whose exact text was verified here before, read without checking its signatures again; undefined if it does not decode. */
function readVerifiedText (file: string, text: string, address: string): GrantFile | undefined {
  try {
    const fields = grantFileFields(text)
    if (typeof fields === 'string') return undefined
    const grant = decodeVerified<Grant>(fields.grant, GRANT_PREFIX, 'grant')
    const card = fields.card === undefined ? undefined : decodeVerified<AddressCard>(fields.card, CARD_PREFIX, 'card')
    return withCard(file, grant, fields.bits, address, card)
  } catch {
    return undefined
  }
}

/** The name of the file of verified contents, in the hosting directory (a dot file: not a grant file). */
export const VERIFIED_FILE = '.verified'
const VERIFIED_HEADER = 'ipms verified grant files v1'

const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex')

/** The grant files of `directory` for `host` (a peer-id; none: any host), remembered between scans. */
export function grantFiles (directory: string, host?: string) {
  const known = new Map<string, { stamp: string, text: string, read: GrantFileRead, hash?: string }>()
  /** Contents verified for `host` (SHA-256 hex → inbox address), from `.verified` and this process. */
  let verified: Map<string, string> | undefined
  /** Lines of `.verified` as read or appended (to know when to compact it). */
  let verifiedLines = 0
  /** New verified contents to append to `.verified` after the scan. */
  let newlyVerified: Array<[string, string]> = []
  const verifiedPath = join(directory, VERIFIED_FILE)

  const loadVerified = async (): Promise<Map<string, string>> => {
    const map = new Map<string, string>()
    if (host === undefined) return map
    try {
      const lines = (await readFile(verifiedPath, 'utf8')).split('\n')
      if (lines[0] !== `${VERIFIED_HEADER} ${host}`) return map // another host's, or damaged: verified again
      for (const line of lines.slice(1)) {
        const [hash, address] = line.split(' ')
        if (hash !== undefined && /^[0-9a-f]{64}$/.test(hash) && address !== undefined && address.startsWith('/orbitdb/')) map.set(hash, address)
      }
      verifiedLines = lines.length
    } catch {} // none yet, or unreadable: everything is verified
    return map
  }

  /** Append what was verified in this scan; rewrite the file when it holds mostly stale lines. Best effort. */
  const saveVerified = async (): Promise<void> => {
    if (host === undefined || verified === undefined) return
    const fresh = newlyVerified
    newlyVerified = []
    try {
      const live = new Map([...known.values()].flatMap(k => k.hash !== undefined && 'grant' in k.read ? [[k.hash, k.read.address] as const] : []))
      if (verifiedLines === 0 || verifiedLines > 2 * live.size + 256) {
        const temp = join(directory, tempName(VERIFIED_FILE))
        await writeFile(temp, [`${VERIFIED_HEADER} ${host}`, ...[...live].map(([h, a]) => `${h} ${a}`)].join('\n') + '\n', { mode: 0o600 })
        await rename(temp, verifiedPath)
        verifiedLines = live.size + 1
      } else if (fresh.length > 0) {
        await appendFile(verifiedPath, fresh.map(([h, a]) => `${h} ${a}\n`).join(''))
        verifiedLines += fresh.length
      }
    } catch {} // a cache: the next start verifies what it does not find
  }

  // Grant files are small and local: read synchronously, a batch per turn of the event loop. One
  // fs.promises read is several thread-pool round trips, which made loading 10,000 files I/O-bound.

  /** The stamp of a file, or undefined when it is gone (or not a regular file). */
  const stampOf = (file: string): string | undefined => {
    try {
      const s = statSync(join(directory, file), { bigint: true })
      return s.isFile() ? `${s.size}:${s.mtimeNs}:${s.ino}` : undefined
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
  }

  /** Look at one file: its new outcome when it changed, 'removed' when it is gone, undefined when unchanged. */
  const look = (file: string): GrantFileRead | 'removed' | undefined => {
    const stamp = stampOf(file)
    const before = known.get(file)
    if (stamp === undefined) {
      if (before === undefined) return undefined
      known.delete(file)
      return 'removed'
    }
    if (before?.stamp === stamp) return undefined
    let text: string
    try {
      const bytes = readFileSync(join(directory, file))
      text = bytes.byteLength > MAX_FILE_BYTES ? '' : bytes.toString('utf8')
      if (text === '') {
        const read = { file, reason: bytes.byteLength > MAX_FILE_BYTES ? `it is larger than ${MAX_FILE_BYTES} bytes` : 'it is empty' }
        known.set(file, { stamp, text, read })
        return read
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return known.delete(file) ? 'removed' : undefined
      throw err
    }
    // The same content under a new stamp (touched, or rewritten the same): nothing changed.
    if (before !== undefined && before.text === text) {
      before.stamp = stamp
      return undefined
    }
    const hash = host === undefined ? undefined : sha256Hex(text)
    const address = hash === undefined ? undefined : verified?.get(hash)
    let read: GrantFileRead | undefined = address === undefined ? undefined : readVerifiedText(file, text, address)
    if (read === undefined) {
      read = readGrantText(file, text, host)
      if (hash !== undefined && 'grant' in read) {
        verified?.set(hash, read.address)
        newlyVerified.push([hash, read.address])
      }
    }
    known.set(file, { stamp, text, read, ...(hash === undefined ? {} : { hash }) })
    return read
  }

  return {
    /**
     * Read what changed: in the whole directory, or only in `files` (names, as a directory watcher
     * gives them). The first scan reads every file.
     */
    scan: async (options: { files?: Iterable<string>, signal?: AbortSignal } = {}): Promise<GrantScan> => {
      verified ??= await loadVerified()
      let names: string[]
      let gone: string[] = []
      if (options.files === undefined) {
        let listed: string[]
        try {
          listed = (await readdir(directory)).filter(isGrantFileName)
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
          listed = []
        }
        const present = new Set(listed)
        gone = [...known.keys()].filter(f => !present.has(f))
        for (const f of gone) known.delete(f)
        names = listed.sort()
      } else {
        names = [...new Set(options.files)].filter(isGrantFileName).sort()
      }
      const changed: GrantFileRead[] = []
      // A file costs about 0.3 ms when its signatures are checked: a slice of the loop's time at once.
      const slice = timeSlicer()
      for (const name of names) {
        await slice(options.signal)
        const outcome = look(name)
        if (outcome === 'removed') gone.push(name)
        else if (outcome !== undefined) changed.push(outcome)
      }
      await saveVerified()
      return { changed, removed: gone }
    },
    /** Every file's outcome as of the last scan, in name order. */
    all: (): GrantFileRead[] => [...known.keys()].sort().map(f => known.get(f)!.read)
  }
}
