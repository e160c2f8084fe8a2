/**
 * Import the identity of a kubo (go-ipfs) node from its config file (`$IPFS_PATH/config`,
 * `~/.ipfs/config` by default), so that an IPFS user keeps their peer-id as their IPMS address.
 *
 * kubo stores `Identity.PrivKey` as standard base64 of the libp2p protobuf private key, the same
 * bytes `privateKeyFromProtobuf` reads, and `Identity.PeerID` as the base58btc peer-id.
 *
 * Watch out for: only Ed25519 keys can be IPMS identities. kubo creates Ed25519 keys since 0.13;
 * older repositories hold RSA keys, and some secp256k1. Those are refused with a message saying
 * how to get an Ed25519 one. `PeerID` is checked against the key when it is present.
 */
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fsProblem } from '../util/fs-errors.ts'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { CorruptKeyFileError, IdentityNotFoundError, InvalidArgumentError, UnsupportedKeyTypeError } from '../errors.ts'
import { fromBase64 } from './base64.ts'
import { identityFromPrivateKey } from './identity.ts'
import type { Identity } from './identity.ts'
import { isJsonObject } from '../util/json-object.ts'

/** A kubo config is a few KiB; refuse to parse anything enormous. */
const MAX_CONFIG_CHARS = 16 * 1024 * 1024

/**
 * The identity in the text of a kubo config file. `CorruptKeyFileError` for bad JSON, missing
 * fields, bad base64 or a `PeerID` that is not the key's; `UnsupportedKeyTypeError` for RSA,
 * secp256k1 and ECDSA keys.
 */
export function importKuboIdentity (configJsonText: string, source = 'the kubo config'): Identity {
  const corrupt = (why: string, cause?: unknown): CorruptKeyFileError =>
    new CorruptKeyFileError(`${source} has no usable identity: ${why}. Give the path of a kubo config file (\`$IPFS_PATH/config\`)`, { cause })
  if (typeof configJsonText !== 'string') throw corrupt('it is not text')
  if (configJsonText.length > MAX_CONFIG_CHARS) throw corrupt('it is far too large for a kubo config')
  let config: unknown
  try {
    config = JSON.parse(configJsonText)
  } catch (err) {
    throw corrupt('it is not valid JSON', err)
  }
  const section = isJsonObject(config) ? config['Identity'] : undefined
  if (!isJsonObject(section)) throw corrupt('it has no "Identity" section')
  if (section['PrivKey'] === undefined) throw corrupt('it has no "Identity.PrivKey"')
  const protobuf = fromBase64(section['PrivKey'])
  if (protobuf === undefined) throw corrupt('"Identity.PrivKey" is not valid base64')
  let privateKey
  try {
    privateKey = privateKeyFromProtobuf(protobuf)
  } catch (err) {
    throw corrupt(`"Identity.PrivKey" is not a libp2p private key (${(err as Error)?.message})`, err)
  } finally {
    protobuf.fill(0)
  }
  if (privateKey.type !== 'Ed25519') {
    const article = privateKey.type === 'secp256k1' ? 'a' : 'an'
    throw new UnsupportedKeyTypeError(`${source} holds ${article} ${privateKey.type} key, and IPMS addresses are Ed25519 peer-ids (12D3KooW…). ` +
      'kubo 0.13 and later create Ed25519 identities: make one with `ipfs init --algorithm ed25519` in a new repository ' +
      '(IPFS_PATH=…), or switch this one with `ipfs key rotate -t ed25519` (its peer-id changes), then import again')
  }
  let identity: Identity
  try {
    identity = identityFromPrivateKey(privateKey)
  } catch (err) {
    throw corrupt(`"Identity.PrivKey" is damaged (${(err as Error)?.message})`, err)
  }
  const claimed = section['PeerID']
  if (claimed !== undefined && claimed !== identity.peerId) {
    throw corrupt(`"Identity.PeerID" (${typeof claimed === 'string' ? claimed.slice(0, 80) : typeof claimed}) is not the peer-id of "Identity.PrivKey" (${identity.peerId})`)
  }
  return identity
}

/**
 * The identity in a kubo config file, or in the `config` file of a kubo repository directory
 * (`~/.ipfs`, what people give first). IdentityNotFoundError if there is no such file,
 * InvalidArgumentError if it cannot be read.
 */
export async function importKuboIdentityFile (given: string): Promise<Identity> {
  let path = given
  let text: string
  try {
    if ((await stat(given)).isDirectory()) path = join(given, 'config')
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new IdentityNotFoundError(`No kubo config at ${path}; kubo keeps it in $IPFS_PATH/config (~/.ipfs/config by default)`, { cause: err })
    }
    const why = fsProblem(err)
    if (why !== undefined) throw new InvalidArgumentError(`Cannot read the kubo config ${path}: ${why}`, { cause: err })
    throw err
  }
  return importKuboIdentity(text, path)
}
