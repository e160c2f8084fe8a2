/**
 * The key's keeping: `ipms passphrase` (add, change or remove the identity's passphrase),
 * `ipms export` (a backup sealed under a passphrase of its own) and `ipms import` (a home from a
 * backup). They work on the home's files, daemon or not: the identity file is replaced atomically
 * and a running daemon keeps the key it loaded.
 */
import { InvalidArgumentError } from '../../errors.ts'
import { fsProblem } from '../../util/fs-errors.ts'
import type { CliCommand } from '../command.ts'
import { readNamedFile, readStdinCapped } from '../user-input.ts'

/** A backup file the user named (or stdin: `-`), bounded before it is read. */
async function readBackupText (path: string): Promise<string> {
  const { MAX_BACKUP_BYTES } = await import('../../home/backup.ts')
  const bytes = path === '-'
    ? await readStdinCapped(MAX_BACKUP_BYTES, `The backup on stdin is over ${MAX_BACKUP_BYTES} bytes: not an IPMS backup`)
    : await readNamedFile(path, { what: 'the backup', maxBytes: MAX_BACKUP_BYTES, tooLarge: size => `${path} is ${size} bytes: not an IPMS backup (at most ${MAX_BACKUP_BYTES})` })
  return bytes.toString('utf8')
}

export const passphrase: CliCommand = {
  command: 'passphrase',
  options: y => y.option('remove', { type: 'boolean', default: false, describe: 'Store the key unencrypted (anyone who can read the home can then use it)' }),
  examples: [
    ['ipms passphrase', 'add a passphrase, or change it (the current one is asked first)'],
    ['IPMS_PASSPHRASE=old IPMS_NEW_PASSPHRASE=new ipms passphrase', 'the same in a script'],
    ['ipms passphrase --remove', 'no passphrase any more']
  ],
  run: async (args, context) => {
    const [{ readIdentityInfo, saveIdentity }, { newPassphrase }] = await Promise.all([import('../../identity/keystore.ts'), import('../prompt.ts')])
    const { home, out, signal } = context
    const before = await readIdentityInfo(home)
    if (args.remove === true && !before.encrypted) {
      out.result({ peerId: before.peerId, encrypted: false, changed: false }, 'The key has no passphrase: nothing to remove.')
      return
    }
    const identity = await context.identity()
    const secret = args.remove === true ? undefined : await newPassphrase('for your key', signal)
    await saveIdentity(home, identity, { passphrase: secret, overwrite: true })
    out.result({ peerId: identity.peerId, encrypted: secret !== undefined, changed: true },
      secret === undefined ? 'The key is stored without a passphrase now.' : before.encrypted ? 'Passphrase changed.' : 'The key is encrypted under your passphrase now.')
    if (secret === undefined) out.info('Anyone who can read this home can now use your key: keep it on an encrypted disk.')
  }
}

const exportCommand: CliCommand = {
  command: 'export <file>',
  options: y => y
    .positional('file', { type: 'string', describe: 'Where to write the backup (- for stdout); an existing file is not replaced', normalize: true }),
  examples: [
    ['ipms export ~/ipms-backup.json', 'your key, contacts, hosts and config, sealed under a passphrase you choose'],
    ['IPMS_NEW_PASSPHRASE=… ipms export - | ssh backup "cat > ipms.json"', 'from a script, to another machine']
  ],
  run: async (args, context) => {
    const [{ encodeBackup, readBackupFiles }, { readIdentityInfo }, { newPassphrase }, { writeFile }] = await Promise.all([
      import('../../home/backup.ts'), import('../../identity/keystore.ts'), import('../prompt.ts'), import('node:fs/promises')])
    const { home, out, signal } = context
    const file = String(args.file)
    const info = await readIdentityInfo(home)
    const identity = await context.identity()
    const secret = await newPassphrase('for the backup', signal)
    const text = await encodeBackup({ identity, keyEncrypted: info.encrypted, files: await readBackupFiles(home), created: Date.now() }, secret)
    if (file === '-') {
      process.stdout.write(text)
      out.info(`A backup of ${identity.peerId}: keep its passphrase apart from it.`)
      return
    }
    try {
      await writeFile(file, text, { flag: 'wx', mode: 0o600 })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new InvalidArgumentError(`${file} exists: nothing was replaced; choose another file`, { cause: err })
      const why = fsProblem(err)
      throw why === undefined ? err : new InvalidArgumentError(`Cannot write the backup ${file}: ${why}`, { cause: err })
    }
    out.result({ peerId: identity.peerId, file }, `Backup of ${identity.peerId} written to ${file}.`)
    out.info('It holds your key: keep its passphrase apart from it. ipms import restores it.')
  }
}
export { exportCommand as export }

const importCommand: CliCommand = {
  command: 'import <file>',
  options: y => y
    .positional('file', { type: 'string', describe: 'A backup written by ipms export (- for stdin)', normalize: true })
    .option('force', { type: 'boolean', default: false, describe: 'Replace this home\'s identity, contacts, hosts and config with the backup\'s' }),
  examples: [
    ['ipms --home ~/.ipms import ~/ipms-backup.json', 'your address back on a new machine'],
    ['ipms import backup.json --force', 'over a home that has an identity (its address becomes the backup\'s)']
  ],
  run: async (args, context) => {
    const [{ backupPeerId, decodeBackup, restoreBackup }, { withPassphrase }, { acquireHomeLock }] = await Promise.all([
      import('../../home/backup.ts'), import('../prompt.ts'), import('../../node/home-lock.ts')])
    const { home, out, signal } = context
    const file = String(args.file)
    const text = await readBackupText(file)
    const peerId = backupPeerId(text, file)
    let secret = ''
    const backup = await withPassphrase(`Passphrase of the backup of ${peerId}: `, async p => { secret = p; return await decodeBackup(text, p, file) }, signal)
    const force = args.force === true
    // Never under a running daemon (or any node on this home): exit 75.
    const lock = force ? await acquireHomeLock(home) : undefined
    try {
      await restoreBackup(home, backup, { passphrase: secret, overwrite: force })
    } finally {
      await lock?.release()
    }
    out.result({ peerId, home, encrypted: backup.keyEncrypted, files: Object.keys(backup.files) },
      [`Restored ${peerId} into ${home}${backup.keyEncrypted ? ' (key encrypted under the backup\'s passphrase: ipms passphrase changes it)' : ''}.`,
        `With: ${Object.keys(backup.files).join(', ') || 'no other file'}.`])
  }
}
export { importCommand as import }
