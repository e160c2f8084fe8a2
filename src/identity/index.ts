/**
 * Identities of IPMS: Ed25519 keys, their peer-ids (the addresses), the identity file in the IPMS
 * home, and import of a kubo node's key. See docs/PROTOCOL.md, "Addresses" and "Identity file".
 *
 * @example
 * ```ts
 * import { createIdentity, saveIdentity, loadIdentity, resolveHome, parsePeerId } from './identity/index.ts'
 *
 * const home = resolveHome()                          // --home, else $IPMS_HOME, else ~/.ipms
 * const me = await createIdentity()
 * await saveIdentity(home, me, { passphrase: 'correct horse' })
 * const again = await loadIdentity(home, { passphrase: 'correct horse' })
 * console.log(again.peerId === me.peerId)             // true; `console.log(again)` shows the peer-id only
 * const { publicKey } = parsePeerId(me.peerId)        // 32-byte Ed25519 key, to seal mail to
 * ```
 */
export { createIdentity, identityFromPrivateKey, identityFromSeed } from './identity.ts'
export type { Identity, Ed25519PrivateKey } from './identity.ts'
export { parsePeerId, peerIdFromPublicKey } from './peer-id.ts'
export type { ParsedPeerId } from './peer-id.ts'
export { resolveHome, identityPath, ensureHome, IDENTITY_FILE_NAME, HOME_DIR_MODE } from './home.ts'
export {
  saveIdentity, loadIdentity, readIdentityPeerId, readIdentityInfo, encodeIdentityFile, decodeIdentityFile,
  IDENTITY_FILE_TYPE, IDENTITY_FILE_MODE, DEFAULT_SCRYPT
} from './keystore.ts'
export type { SaveIdentityOptions, LoadIdentityOptions, IdentityFileInfo } from './keystore.ts'
export { importKuboIdentity, importKuboIdentityFile } from './kubo.ts'
