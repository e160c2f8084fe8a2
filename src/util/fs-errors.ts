/**
 * A file system refusal in words, for a path a user named (issue #14: no raw `ENOENT` or
 * `EISDIR … (this is unexpected: report it)` for a mistyped path or a directory given as a file).
 */

const WORDS: Record<string, string> = {
  ENOENT: 'there is no such file',
  EISDIR: 'it is a directory, not a file',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the path is too long',
  EEXIST: 'a file is in the way'
}

/** `err`'s errno in words, or undefined when it is no file system refusal of a path. Never throws. */
export function fsProblem (err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return typeof code === 'string' ? WORDS[code] : undefined
}
