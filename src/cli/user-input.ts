/**
 * What a user hands a command: a file named on the command line, or stdin; each bounded before it
 * is read, and every refusal said in words (no raw ENOENT or EISDIR: util/fs-errors.ts).
 */
import { readFile, stat } from 'node:fs/promises'
import { InvalidArgumentError } from '../errors.ts'
import { fsProblem } from '../util/fs-errors.ts'

export interface NamedFileOptions {
  /** What the file is, for messages: "the attachment", "the backup". */
  what: string
  maxBytes: number
  /** The refusal of a file over maxBytes. */
  tooLarge: (size: number) => string
  /** Why a directory will not do. Default: "it is a directory, not a file". */
  directory?: string
}

/** The whole file at `path`; InvalidArgumentError saying why not. */
export async function readNamedFile (path: string, options: NamedFileOptions): Promise<Buffer> {
  const refused = (why: string, cause?: unknown): InvalidArgumentError => new InvalidArgumentError(`Cannot read ${options.what} ${path}: ${why}`, { cause })
  try {
    const info = await stat(path)
    if (info.isDirectory()) throw refused(options.directory ?? 'it is a directory, not a file')
    if (info.size > options.maxBytes) throw new InvalidArgumentError(options.tooLarge(info.size))
    return await readFile(path)
  } catch (err) {
    const why = fsProblem(err)
    throw why === undefined ? err : refused(why, err)
  }
}

/** All of stdin; InvalidArgumentError `tooLarge` as soon as more than `maxBytes` arrived. */
export async function readStdinCapped (maxBytes: number, tooLarge: string, signal?: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of process.stdin) {
    signal?.throwIfAborted()
    total += (chunk as Buffer).byteLength
    if (total > maxBytes) throw new InvalidArgumentError(tooLarge)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}
