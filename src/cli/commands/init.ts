/** `ipms init`: create the home, its identity and config; print the address. */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { inboxAddress } from '../../access/inbox-address.ts'
import { DEFAULT_POW_BITS, MAX_POW_BITS, MIN_POW_BITS } from '../../constants.ts'
import { InvalidArgumentError } from '../../errors.ts'
import { loadConfig, writeDefaultConfig } from '../../home/config.ts'
import { HOSTS_FILE_NAME } from '../../home/owner-hosts.ts'
import { createIdentity } from '../../identity/identity.ts'
import { importKuboIdentityFile } from '../../identity/kubo.ts'
import { readIdentityInfo, saveIdentity } from '../../identity/keystore.ts'
import { acquireHomeLock } from '../../node/home-lock.ts'
import type { CliCommand } from '../command.ts'
import { passphrase } from '../prompt.ts'

/** Below this, a stamp costs a sender next to nothing: no protection from spam. */
const LOW_BITS = 12
/** Above this, a stamp costs a sender minutes (2^(bits-24) × ~1 s: README, "Limits"). */
const HIGH_BITS = 30

/** A warning for a difficulty at either extreme, saying what it means; undefined in between. */
export function difficultyNote (bits: number): string | undefined {
  if (bits < LOW_BITS) return `Warning: at ${bits} bits a stamp costs a sender about ${2 ** bits} hashes (well under a millisecond): your inbox has no protection from spam. The default is ${DEFAULT_POW_BITS}.`
  if (bits > HIGH_BITS) {
    const seconds = 2 ** (bits - 24) // about a second at 24 bits on a laptop core pair
    const time = seconds >= 7200 ? `${Math.round(seconds / 3600)} hours` : `${Math.round(seconds / 60)} minutes`
    return `Warning: at ${bits} bits each mail to you costs its sender about ${time} of proof-of-work (twice that for each doubling of its size past 64 KiB). The default is ${DEFAULT_POW_BITS}.`
  }
  return undefined
}

export const init: CliCommand = {
  command: 'init',
  options: y => y
    .option('import-kubo', { type: 'string', describe: 'Use the Ed25519 key of a kubo (go-ipfs) node: path to its config file', normalize: true })
    .option('passphrase', { type: 'boolean', default: false, describe: 'Encrypt the key with a passphrase (asked, or $IPMS_PASSPHRASE)' })
    .option('bits', { type: 'number', default: DEFAULT_POW_BITS, describe: 'Proof-of-work difficulty senders must meet for your inbox' })
    .option('force', { type: 'boolean', default: false, describe: 'Replace an existing identity (your address changes!)' }),
  examples: [
    ['ipms init', 'create a new address in ~/.ipms'],
    ['ipms --home ./bob init --passphrase', 'a second home, its key encrypted'],
    ['ipms init --import-kubo ~/.ipfs/config', 'keep the peer-id of your kubo node']
  ],
  run: async (args, { home, out, signal }) => {
    const bits = args.bits as number
    if (!Number.isInteger(bits) || bits < MIN_POW_BITS || bits > MAX_POW_BITS) throw new InvalidArgumentError(`--bits must be a whole number from ${MIN_POW_BITS} to ${MAX_POW_BITS}`)
    const identity = typeof args.importKubo === 'string' ? await importKuboIdentityFile(args.importKubo) : await createIdentity()
    let secret: string | undefined
    if (args.passphrase === true) {
      secret = await passphrase('New passphrase: ', signal)
      if (process.env.IPMS_PASSPHRASE === undefined && secret !== await passphrase('Again: ', signal)) throw new InvalidArgumentError('The two passphrases differ: nothing was created')
      if (secret === '') throw new InvalidArgumentError('An empty passphrase protects nothing: nothing was created')
    }
    const previous = args.force === true ? await readIdentityInfo(home).catch(() => undefined) : undefined
    // A damaged config fails here, before anything is replaced (exit 78).
    await loadConfig(home)
    // Never replace the key under a running daemon (or any node on this home): exit 75.
    const lock = previous === undefined ? undefined : await acquireHomeLock(home)
    try {
      await saveIdentity(home, identity, { passphrase: secret, overwrite: args.force === true })
      // Grants were signed by the replaced key: the hosts would refuse them.
      if (previous !== undefined && previous.peerId !== identity.peerId) await rm(join(home, HOSTS_FILE_NAME), { force: true })
      await writeDefaultConfig(home, bits)
    } finally {
      await lock?.release()
    }
    const { bits: inboxBits } = await loadConfig(home) // an existing config keeps its difficulty
    const note = difficultyNote(inboxBits)
    if (note !== undefined) out.info(note)
    const inbox = inboxAddress(identity.peerId, inboxBits)
    out.result({ peerId: identity.peerId, inbox, home, encrypted: secret !== undefined, bits: inboxBits }, [
      `Your address: ${identity.peerId}`,
      `Your inbox:   ${inbox} (difficulty ${inboxBits} bits)`,
      `Home:         ${home}${secret === undefined ? '' : ' (key encrypted)'}`
    ])
    out.info('Next: ask a friend who runs a host for its peer-id and address, then: ipms hosts grant <peer-id> --addr <multiaddr>')
  }
}
