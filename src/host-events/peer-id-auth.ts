/**
 * The server side of libp2p's Peer ID Authentication over HTTP
 * (https://github.com/libp2p/specs/blob/master/http/peer-id-auth.md), as a host's event streams use
 * it (docs/PROTOCOL.md §15.1): a client proves the peer-id of its key by signing a challenge of the
 * host's, and gets a short-lived bearer token for the next requests.
 *
 * Written here rather than taken from @libp2p/http-peer-id-auth 2.0.3, whose `serverResponds`
 * accepts the second message of the server-initiated flow without checking the client's signature
 * or the host's opaque value (any public key gets a bearer token: anyone could listen as anyone).
 * Its client side (ClientInitiatedHandshake) is correct and is what the IPMS client uses; the tests
 * run it against this module.
 *
 * Both flows of the spec are served; the work done for a request that is not yet authenticated is
 * bounded: the header is at most MAX_AUTH_HEADER bytes and parsed by one strict pattern, opaque
 * values and tokens are checked with an HMAC (a secret of this process) before anything else, and
 * only Ed25519 keys are read (an IPMS address is one). Messages carry no key material.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import type { PrivateKey, PublicKey } from '@libp2p/interface'

export const PEER_ID_AUTH_SCHEME = 'libp2p-PeerID'
/** Longest Authorization header read, bytes (the spec's own implementations use 2,048). */
export const MAX_AUTH_HEADER = 2048
/** How long a bearer token is valid, ms: an hour. */
export const DEFAULT_TOKEN_TTL_MS = 60 * 60_000
/** How long a challenge may be answered, ms. */
export const CHALLENGE_TTL_MS = 60_000

/** What a request's Authorization header comes to. */
export type AuthOutcome =
  /** Authenticated: the client's peer-id; `info` goes into `Authentication-Info` (a new token), `expires` is when its token ends (ms). */
  | { peer: string, expires: number, info?: string }
  /** Not (yet): answer 401 with this `WWW-Authenticate`. */
  | { challenge: string }

export interface PeerIdAuthServer {
  /** Judge a request's `Authorization` for `hostname` (its Host header). Never rejects. */
  check: (authorization: string | undefined, hostname: string) => Promise<AuthOutcome>
}

export interface PeerIdAuthOptions {
  /** The host's key (it signs its answers to client challenges). */
  privateKey: PrivateKey
  /** Bearer token lifetime, ms. Default an hour. */
  tokenTtlMs?: number
  now?: () => number
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url')
/** Strict base64url (padding allowed, as the spec's examples pad). */
const fromB64 = (text: string): Uint8Array | undefined => /^[A-Za-z0-9_-]*={0,2}$/.test(text) ? new Uint8Array(Buffer.from(text, 'base64url')) : undefined

/** `libp2p-PeerID k="v", k2="v2"`: the parameters, or undefined for anything else (duplicates, odd characters). */
export function parseAuthParams (header: string): Map<string, string> | undefined {
  if (header.length > MAX_AUTH_HEADER || !header.startsWith(`${PEER_ID_AUTH_SCHEME} `)) return undefined
  const rest = header.slice(PEER_ID_AUTH_SCHEME.length + 1).trim()
  const params = new Map<string, string>()
  for (const part of rest.split(',')) {
    const match = /^\s*([a-z][a-z-]{0,31})="([A-Za-z0-9_\-=.+/]{0,1024})"\s*$/.exec(part)
    if (match === null || params.has(match[1]!) || params.size >= 8) return undefined
    params.set(match[1]!, match[2]!)
  }
  return params
}

/** The spec's signing input: the scheme, then each `key=value` (sorted by key) with its varint length. */
export function signingInput (parts: Array<[string, string | Uint8Array]>): Uint8Array {
  const chunks: Buffer[] = [Buffer.from(PEER_ID_AUTH_SCHEME)]
  for (const [key, value] of [...parts].sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)) {
    const part = Buffer.concat([Buffer.from(`${key}=`), typeof value === 'string' ? Buffer.from(value) : Buffer.from(value)])
    let n = part.length
    const varint: number[] = []
    do { varint.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0)); n >>>= 7 } while (n > 0)
    chunks.push(Buffer.from(varint), part)
  }
  return new Uint8Array(Buffer.concat(chunks))
}

const encodeParams = (params: Record<string, string>): string =>
  `${PEER_ID_AUTH_SCHEME} ${Object.entries(params).map(([k, v]) => `${k}="${v}"`).join(', ')}`

/** An Ed25519 public key from its protobuf in base64url, or undefined. Never throws. */
function ed25519Key (text: string | undefined): PublicKey | undefined {
  const bytes = text === undefined ? undefined : fromB64(text)
  if (bytes === undefined || bytes.length !== 36) return undefined
  try {
    const key = publicKeyFromProtobuf(bytes)
    return key.type === 'Ed25519' ? key : undefined
  } catch {
    return undefined
  }
}

export function peerIdAuthServer (options: PeerIdAuthOptions): PeerIdAuthServer {
  const { privateKey } = options
  const now = options.now ?? Date.now
  const ttl = options.tokenTtlMs ?? DEFAULT_TOKEN_TTL_MS
  const serverKey = b64(publicKeyToProtobuf(privateKey.publicKey))
  const serverKeyBytes = publicKeyToProtobuf(privateKey.publicKey)
  // Opaque values and tokens are this process's own: a MAC, not a signature (cheaper to check
  // than to forge-check with Ed25519). A restart ends every token: the client authenticates again.
  const secret = randomBytes(32)
  const mac = (kind: string, body: string): string => createHmac('sha256', secret).update(`${kind}\0${body}`).digest('base64url')
  /** `body.mac` sealed for `kind`. */
  const seal = (kind: string, value: Record<string, unknown>): string => {
    const body = Buffer.from(JSON.stringify(value)).toString('base64url')
    return `${body}.${mac(kind, body)}`
  }
  /** The value of a sealed string if its MAC holds, else undefined. Never throws. */
  const unseal = (kind: string, text: string | undefined): Record<string, unknown> | undefined => {
    const dot = text?.indexOf('.') ?? -1
    if (text === undefined || dot < 1) return undefined
    const body = text.slice(0, dot)
    const given = Buffer.from(text.slice(dot + 1))
    const expected = Buffer.from(mac(kind, body))
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
    try {
      const value: unknown = JSON.parse(Buffer.from(body, 'base64url').toString())
      return typeof value === 'object' && value !== null ? value as Record<string, unknown> : undefined
    } catch {
      return undefined
    }
  }

  const challengeFor = (hostname: string, clientKey?: string): { challenge: string, opaque: string } => {
    const challenge = b64(randomBytes(32))
    return { challenge, opaque: seal('opaque', { c: challenge, h: hostname, t: now(), ...(clientKey === undefined ? {} : { k: clientKey }) }) }
  }
  const freshChallenge = (hostname: string): AuthOutcome => {
    const { challenge, opaque } = challengeFor(hostname)
    return { challenge: encodeParams({ 'challenge-client': challenge, 'public-key': serverKey, opaque }) }
  }
  const serverSignature = async (challengeServer: string, clientKey: PublicKey, hostname: string): Promise<string> =>
    b64(await privateKey.sign(signingInput([['challenge-server', challengeServer], ['client-public-key', publicKeyToProtobuf(clientKey)], ['hostname', hostname]])))
  const token = (peer: string, hostname: string): { bearer: string, expires: number } => {
    const issued = now()
    return { bearer: seal('bearer', { p: peer, h: hostname, t: issued }), expires: issued + ttl }
  }
  /** The client's signature over the host's challenge, checked against its key. */
  const clientSigned = async (key: PublicKey, sig: string | undefined, challengeClient: string, hostname: string): Promise<boolean> => {
    const bytes = sig === undefined ? undefined : fromB64(sig)
    if (bytes === undefined || bytes.length !== 64) return false
    try {
      return await key.verify(signingInput([['challenge-client', challengeClient], ['hostname', hostname], ['server-public-key', serverKeyBytes]]), bytes)
    } catch {
      return false
    }
  }
  /** A sealed opaque of ours, for this hostname, recent enough; its challenge and client key. */
  const openOpaque = (text: string | undefined, hostname: string): { c: string, k?: string } | undefined => {
    const opaque = unseal('opaque', text)
    if (opaque === undefined || opaque.h !== hostname || typeof opaque.c !== 'string' || typeof opaque.t !== 'number') return undefined
    if (now() - opaque.t > CHALLENGE_TTL_MS || opaque.t > now() + 1000) return undefined
    return { c: opaque.c, ...(typeof opaque.k === 'string' ? { k: opaque.k } : {}) }
  }

  const check = async (authorization: string | undefined, hostname: string): Promise<AuthOutcome> => {
    try {
      const params = authorization === undefined ? undefined : parseAuthParams(authorization)
      if (params === undefined) return freshChallenge(hostname)
      const given = params.get('bearer')
      if (given !== undefined) {
        const t = unseal('bearer', given)
        if (t === undefined || t.h !== hostname || typeof t.p !== 'string' || typeof t.t !== 'number') return freshChallenge(hostname)
        const expires = t.t + ttl
        if (now() >= expires || t.t > now() + 1000) return freshChallenge(hostname)
        return { peer: t.p, expires }
      }
      const publicKey = params.get('public-key')
      const challengeServer = params.get('challenge-server')
      const opaqueText = params.get('opaque')
      if (opaqueText === undefined) {
        // Client-initiated, first step: sign its challenge, send ours (its key sealed in the opaque).
        const key = ed25519Key(publicKey)
        if (key === undefined || challengeServer === undefined || challengeServer.length < 16) return freshChallenge(hostname)
        const { challenge, opaque } = challengeFor(hostname, publicKey)
        return { challenge: encodeParams({ 'challenge-client': challenge, 'public-key': serverKey, sig: await serverSignature(challengeServer, key, hostname), opaque }) }
      }
      // The answer to our challenge: server-initiated (its key given now), or client-initiated (its key in the opaque).
      const opaque = openOpaque(opaqueText, hostname)
      if (opaque === undefined) return freshChallenge(hostname)
      const keyText = opaque.k ?? publicKey
      if (opaque.k !== undefined && publicKey !== undefined && publicKey !== opaque.k) return freshChallenge(hostname)
      const key = ed25519Key(keyText)
      if (key === undefined || !await clientSigned(key, params.get('sig'), opaque.c, hostname)) return freshChallenge(hostname)
      const peer = peerIdFromPublicKey(key).toString()
      const { bearer, expires } = token(peer, hostname)
      const info: Record<string, string> = { bearer }
      if (opaque.k === undefined && challengeServer !== undefined && challengeServer.length >= 16) info.sig = await serverSignature(challengeServer, key, hostname)
      return { peer, expires, info: encodeParams(info) }
    } catch {
      return freshChallenge(hostname)
    }
  }
  return { check }
}
