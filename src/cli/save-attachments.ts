/**
 * `ipms read --save DIR`: a mail's attachments written into the directory the user chose, and
 * nowhere else (README, "Reading mail safely").
 *
 * The mail format already restricts attachment names (PROTOCOL §4.1: no '/', '\', controls, '.'
 * or '..'); the sender chose them, so they are checked again here, where the file is written:
 * - the name on disk is a plain file name: path separators, controls, C1, bidi controls (which
 *   would make `invoice<U+202E>fdp.exe` list as `invoiceexe.pdf`) become '_', and a leading '.'
 *   too (no hidden file, no `.profile` dropped into a home directory);
 * - the resolved path must sit directly in DIR;
 * - files are created with O_EXCL ('wx'): never over an existing file, never through a symlink;
 *   a name taken already gets a suffix (`plan-1.txt`, `plan-2.txt` …).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { fsProblem } from '../util/fs-errors.ts'
import { dirname, extname, resolve } from 'node:path'
import { MAX_FILENAME_BYTES } from '../constants.ts'
import { InvalidArgumentError } from '../errors.ts'
import type { Attachment } from '../mail/mail.ts'
import { safeText } from './safe-text.ts'

/** How many suffixed names are tried for one attachment before giving up. */
const MAX_SUFFIX = 999

/** Kept: a valid surrogate pair. Replaced by '_': a lone surrogate, separators, and what safeText would show escaped. */
const NAME_CHARS = /([\ud800-\udbff][\udc00-\udfff])|[\ud800-\udfff]|[/\\\x00-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]/g

/** The plain file name an attachment is saved under (before any suffix). Never throws. */
export function fileNameFor (name: string): string {
  const plain = String(name).replace(NAME_CHARS, (_c, pair?: string) => pair ?? '_').replace(/^\./, '_')
  return plain === '' ? 'attachment' : plain
}

/** `stem-n.ext` (n = 0: the name itself), shortened so that it stays within MAX_FILENAME_BYTES. */
function withSuffix (name: string, n: number): string {
  const ext = extname(name).length <= 16 ? extname(name) : ''
  let stem = [...name.slice(0, name.length - ext.length)].slice(0, MAX_FILENAME_BYTES)
  const tail = `${n === 0 ? '' : `-${n}`}${ext}`
  while (stem.length > 1 && Buffer.byteLength(stem.join('') + tail) > MAX_FILENAME_BYTES) stem = stem.slice(0, -1)
  return stem.join('') + tail
}

/** Write each attachment into `directory` (created if needed); resolves with the paths written. */
export async function saveAttachments (directory: string, attachments: readonly Attachment[]): Promise<string[]> {
  const dir = resolve(directory)
  try {
    await mkdir(dir, { recursive: true })
  } catch (err) {
    const why = fsProblem(err)
    if (why === undefined) throw err
    const blocked = ['EEXIST', 'ENOTDIR'].includes(String((err as NodeJS.ErrnoException).code))
    throw new InvalidArgumentError(`Cannot save into ${dir}: ${blocked ? 'it, or a part of its path, is a file, not a directory' : why}; choose another --save directory`, { cause: err })
  }
  const saved: string[] = []
  for (const attachment of attachments) {
    const base = fileNameFor(attachment.name)
    for (let n = 0; ; n++) {
      if (n > MAX_SUFFIX) throw new InvalidArgumentError(`${safeText(base)} and ${MAX_SUFFIX} suffixed names exist already in ${dir}: nothing overwritten; choose another --save directory`)
      const path = resolve(dir, withSuffix(base, n))
      if (dirname(path) !== dir) throw new InvalidArgumentError(`attachment name ${safeText(attachment.name)} would be written outside ${dir}: not saved`)
      try {
        await writeFile(path, attachment.data, { flag: 'wx' })
        saved.push(path)
        break
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue
        const why = fsProblem(err)
        throw why === undefined ? err : new InvalidArgumentError(`Cannot save ${path}: ${why}`, { cause: err })
      }
    }
  }
  return saved
}
