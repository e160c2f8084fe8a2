/**
 * Reading one of the home's JSON files (config.json, contacts.json, hosts.json): a missing file is
 * undefined; a damaged one is a ConfigError naming the file and what the user can do about it.
 */
import { ConfigError } from '../errors.ts'
import { readJsonFile } from '../util/durable-files.ts'

/** The parsed file, or undefined when it does not exist; ConfigError ending in `remedy` when it does not parse. */
export async function readHomeFile (path: string, remedy: string): Promise<unknown> {
  try {
    return await readJsonFile(path)
  } catch (err) {
    throw new ConfigError(`${path} is not valid JSON (${(err as Error).message}): ${remedy}`, { cause: err })
  }
}
