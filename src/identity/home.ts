/**
 * The IPMS home directory: where the identity (and, later, the node's stores) live.
 *
 * Resolution order: an explicit path (the CLI's `--home`), else `$IPMS_HOME`, else `~/.ipms`.
 * The result is always absolute, so that a later `chdir` cannot move it.
 *
 * Watch out for: the home holds a private key, so a directory this module creates gets mode 0700
 * whatever the umask. A directory that already exists is left as the user set it up.
 */
import { mkdir, chmod } from 'node:fs/promises'
import { builtin } from '../util/builtin.ts'
import { join, resolve } from 'node:path'
import { InvalidArgumentError } from '../errors.ts'

/** Name of the identity file inside the home. */
export const IDENTITY_FILE_NAME = 'identity.json'
/** Mode of a home directory created by IPMS: owner only. */
export const HOME_DIR_MODE = 0o700

/** The IPMS home: `explicit`, else `$IPMS_HOME`, else `~/.ipms`; always an absolute path. */
export function resolveHome (explicit?: string): string {
  if (explicit !== undefined && typeof explicit !== 'string') {
    throw new InvalidArgumentError(`The IPMS home must be a path string, got ${explicit === null ? 'null' : typeof explicit}`)
  }
  if (explicit !== undefined && explicit !== '') return resolve(explicit)
  const fromEnv = process.env['IPMS_HOME']
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv)
  // node:os only here: a command given its home (--home, $IPMS_HOME) does without loading it.
  return join(builtin<typeof import('node:os')>('node:os').homedir(), '.ipms')
}

/** Path of the identity file of a home. */
export function identityPath (home: string): string {
  return join(home, IDENTITY_FILE_NAME)
}

/** Create the home (and missing parents) if needed; a home created here gets mode 0700. */
export async function ensureHome (home: string): Promise<void> {
  const created = await mkdir(home, { recursive: true, mode: HOME_DIR_MODE })
  // mkdir's mode goes through the umask; set it outright on the directory we made.
  if (created !== undefined) await chmod(home, HOME_DIR_MODE)
}
