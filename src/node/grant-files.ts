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
 * Watch for: a grant is checked here for its signature and for this host, not for its expiry
 * (judged by the caller each time it serves, with its own clock); the file is untrusted (size cap,
 * JSON shape, `bits` range, card signed by the same owner).
 */
import { readFileSync, statSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { MAX_POW_BITS, MAX_SIGNED_RECORD_BYTES, MIN_POW_BITS } from '../constants.ts'
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

/** Work between two turns of the event loop, ms: a file costs about 0.3 ms (two signatures), more on a loaded machine. */
const SLICE_MS = 10
/** Largest grant file read: a grant and a card with room for JSON. */
const MAX_FILE_BYTES = 4 * MAX_SIGNED_RECORD_BYTES + 1024

const isGrantFileName = (name: string): boolean => name.endsWith('.json') && !name.startsWith('.')

/** Parse and verify one grant file's text for `host`. Never throws: a bad file is a reason. */
export function readGrantText (file: string, text: string, host?: string): GrantFileRead {
  try {
    let value: unknown
    try { value = JSON.parse(text) } catch { return { file, reason: 'it is not JSON: replace it with `ipms host accept`' } }
    if (!isPlainMap(value) || typeof value.grant !== 'string' || (value.card !== undefined && typeof value.card !== 'string')) {
      return { file, reason: 'it is not a grant file ({ grant, bits, card? }): replace it with `ipms host accept`' }
    }
    const bits = value.bits
    if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < MIN_POW_BITS || bits > MAX_POW_BITS) {
      return { file, reason: `its difficulty is not a whole number of bits from ${MIN_POW_BITS} to ${MAX_POW_BITS}` }
    }
    // Expiry is the caller's to judge, at each use: 0 is before any grant's expiry.
    const grant = verifyGrant(value.grant, { ...(host === undefined ? {} : { host }), now: 0 })
    const card = value.card === undefined ? undefined : verifyCard(value.card, { owner: grant.owner })
    const coHosts = card === undefined ? [] : card.hosts.filter(h => h.peer !== grant.host)
    return { file, grant, bits, address: inboxAddress(grant.owner, bits), ...(card === undefined ? {} : { card }), coHosts }
  } catch (err) {
    return { file, reason: (err as Error).message }
  }
}

/** The grant files of `directory` for `host` (a peer-id; none: any host), remembered between scans. */
export function grantFiles (directory: string, host?: string) {
  const known = new Map<string, { stamp: string, text: string, read: GrantFileRead }>()

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
    const read = readGrantText(file, text, host)
    known.set(file, { stamp, text, read })
    return read
  }

  return {
    /**
     * Read what changed: in the whole directory, or only in `files` (names, as a directory watcher
     * gives them). The first scan reads every file.
     */
    scan: async (options: { files?: Iterable<string>, signal?: AbortSignal } = {}): Promise<GrantScan> => {
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
      let slice = performance.now()
      for (const name of names) {
        if (performance.now() - slice > SLICE_MS) {
          await nextTurn()
          options.signal?.throwIfAborted()
          slice = performance.now()
        }
        const outcome = look(name)
        if (outcome === 'removed') gone.push(name)
        else if (outcome !== undefined) changed.push(outcome)
      }
      return { changed, removed: gone }
    },
    /** Every file's outcome as of the last scan, in name order. */
    all: (): GrantFileRead[] => [...known.keys()].sort().map(f => known.get(f)!.read)
  }
}
