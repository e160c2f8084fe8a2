/**
 * The home's config file, `<home>/config.json` (docs/ARCHITECTURE.md, home): where the node
 * listens, which peers it dials at start, its own inbox difficulty and its host policy. Every field
 * is optional; a missing file means the defaults. Units are the ones people write: days, MiB,
 * minutes.
 *
 *   { "listen": ["/ip4/0.0.0.0/tcp/4100"], "bootstrap": ["/ip4/…/tcp/4100/p2p/12D3KooW…"], "bits": 24,
 *     "dht": true, "mdns": false, "apiListen": "127.0.0.1:5101", "web": "127.0.0.1:5180",
 *     "hostPolicy": { "retentionDays": 30, "quotaMiB": 256, "deliveriesPerMinute": 60, "maxClockSkewMinutes": 1440,
 *                     "passQuotaMiB": 32, "passesQuotaMiB": 256 }, "outboxMaxAgeDays": 7 }
 */
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { DEFAULT_POW_BITS, DHT_PROTOCOL, MAX_POW_BITS, MIN_POW_BITS, OUTBOX_MAX_AGE_MS } from '../constants.ts'
import { ConfigError } from '../errors.ts'
import { DEFAULT_HOST_POLICY, type HostPolicy } from '../node/host-policy.ts'
import { writeJsonSynced } from '../util/durable-files.ts'
import { readHomeFile } from './home-file.ts'

export const CONFIG_FILE_NAME = 'config.json'

export interface HomeConfig {
  /** Multiaddrs the node listens on. Default `/ip4/127.0.0.1/tcp/0` (loopback, any free port). */
  listen: string[]
  /** Multiaddrs (with /p2p/<peer-id>) dialled when a node starts. Default none. */
  bootstrap: string[]
  /** The proof-of-work difficulty of this owner's inbox, bits. Part of the inbox address. Default 24. */
  bits: number
  /** Join the private IPMS DHT (publish and find hosts records). Default true. */
  dht: boolean
  /** Find peers on the LAN by mDNS. Default false. */
  mdns: boolean
  /** The DHT's protocol id. Default `/ipms/kad/1.0.0`, the private IPMS DHT. */
  dhtProtocol: string
  /** What this node accepts when it hosts friends' inboxes. */
  hostPolicy: HostPolicy
  /**
   * Also serve the daemon's local API over TCP (docs/API.md), "host:port" on loopback only
   * (127.0.0.1, localhost or [::1]; port 0: any free one). Default: off (the Unix socket only).
   */
  apiListen?: string
  /**
   * Where the daemon serves the web inbox (README, "The web inbox"): "host:port" on loopback, as
   * `apiListen`. Default: off (`ipms daemon --web` or `ipms web` turn it on).
   */
  web?: string
  /**
   * Where a host serves its owners' event streams over plain HTTP (docs/PROTOCOL.md §15), "host:port"
   * on any address (phones reach hosts over the network; port 0: any free one). Default: off (they
   * are served over libp2p streams only).
   */
  http?: string
  /** Idle friends' inboxes a host keeps open at most (the others are opened when used). Default 256. */
  maxOpenInboxes?: number
  /** How long the outbox retries a mail before giving it up, ms (`outboxMaxAgeDays` in the file). Default 7 days. */
  outboxMaxAgeMs: number
}

/** The hosts `apiListen` may name: loopback only (the API is for this machine's programs). */
const API_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

/** `apiListen` (or `web`: `field`) checked: `{ host, port }` (host without brackets); ConfigError otherwise. */
export function parseApiListen (value: unknown, path = CONFIG_FILE_NAME, field = 'apiListen'): { host: string, port: number } {
  const match = typeof value === 'string' ? /^(127\.0\.0\.1|localhost|\[::1\]):(\d{1,5})$/.exec(value) : null
  const port = Number(match?.[2])
  if (match === null || !API_HOSTS.has(match[1]!) || port > 65535) {
    throw new ConfigError(`${path}: "${field}" must be "host:port" on loopback (127.0.0.1, localhost or [::1]; port 0 to 65535), e.g. "127.0.0.1:5101"`)
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port }
}

/** `http` checked: `{ host, port }` (host without brackets); ConfigError otherwise. */
export function parseHttpListen (value: unknown, path = CONFIG_FILE_NAME): { host: string, port: number } {
  const match = typeof value === 'string' ? /^(\[[0-9A-Fa-f:.]{2,45}\]|[0-9A-Za-z.-]{1,253}):(\d{1,5})$/.exec(value) : null
  const port = Number(match?.[2])
  if (match === null || port > 65535) throw new ConfigError(`${path}: "http" must be "host:port" (e.g. "0.0.0.0:8443", "[::]:8443", "127.0.0.1:0"), where the host serves its owners' event streams`)
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port }
}

const DAY_MS = 24 * 60 * 60_000
const MIB = 1024 * 1024

/** The policy fields of the file, in their file units. */
const POLICY_FIELDS = {
  retentionDays: { toPolicy: (v: number): Partial<HostPolicy> => ({ retentionMs: v * DAY_MS }) },
  quotaMiB: { toPolicy: (v: number): Partial<HostPolicy> => ({ quotaBytes: Math.round(v * MIB) }) },
  deliveriesPerMinute: { toPolicy: (v: number): Partial<HostPolicy> => ({ deliveriesPerWindow: Math.round(v), rateWindowMs: 60_000 }) },
  maxClockSkewMinutes: { toPolicy: (v: number): Partial<HostPolicy> => ({ maxClockSkewMs: v * 60_000 }) },
  passQuotaMiB: { toPolicy: (v: number): Partial<HostPolicy> => ({ passQuotaBytes: Math.round(v * MIB) }) },
  passesQuotaMiB: { toPolicy: (v: number): Partial<HostPolicy> => ({ passesQuotaBytes: Math.round(v * MIB) }) }
} as const

/** The config written by `ipms init`: the defaults, spelt out so a user sees what to change. */
export function defaultConfigFile (bits = DEFAULT_POW_BITS): Record<string, unknown> {
  return {
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: [],
    bits,
    dht: true,
    mdns: false,
    hostPolicy: {
      retentionDays: DEFAULT_HOST_POLICY.retentionMs / DAY_MS,
      quotaMiB: DEFAULT_HOST_POLICY.quotaBytes / MIB,
      deliveriesPerMinute: DEFAULT_HOST_POLICY.deliveriesPerWindow,
      maxClockSkewMinutes: DEFAULT_HOST_POLICY.maxClockSkewMs / 60_000,
      passQuotaMiB: DEFAULT_HOST_POLICY.passQuotaBytes / MIB,
      passesQuotaMiB: DEFAULT_HOST_POLICY.passesQuotaBytes / MIB
    },
    outboxMaxAgeDays: OUTBOX_MAX_AGE_MS / DAY_MS
  }
}

function multiaddrList (value: unknown, field: string, path: string): string[] {
  if (!Array.isArray(value) || !value.every(v => typeof v === 'string')) throw new ConfigError(`${path}: "${field}" must be a list of multiaddr strings`)
  for (const text of value as string[]) {
    try {
      multiaddr(text)
    } catch {
      throw new ConfigError(`${path}: "${field}" has ${JSON.stringify(text)}, which is not a multiaddr (example: /ip4/127.0.0.1/tcp/4100)`)
    }
  }
  return value as string[]
}

/** Check a parsed config document and fill in the defaults. */
export function parseConfig (value: unknown, path = CONFIG_FILE_NAME): HomeConfig {
  if (value === undefined) value = {}
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`${path} must hold a JSON object`)
  const known = new Set(['listen', 'bootstrap', 'bits', 'dht', 'mdns', 'dhtProtocol', 'hostPolicy', 'apiListen', 'web', 'http', 'maxOpenInboxes', 'outboxMaxAgeDays'])
  const unknown = Object.keys(value).filter(k => !known.has(k))
  if (unknown.length > 0) throw new ConfigError(`${path}: unknown field ${unknown.map(k => `"${k}"`).join(', ')} (known: ${[...known].join(', ')})`)
  const file = value as Record<string, unknown>
  const config: HomeConfig = { listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], bits: DEFAULT_POW_BITS, dht: true, mdns: false, dhtProtocol: DHT_PROTOCOL, hostPolicy: { ...DEFAULT_HOST_POLICY }, outboxMaxAgeMs: OUTBOX_MAX_AGE_MS }
  if (file.dhtProtocol !== undefined) {
    if (typeof file.dhtProtocol !== 'string' || !/^\/\S{1,200}$/.test(file.dhtProtocol)) throw new ConfigError(`${path}: "dhtProtocol" must be a protocol id such as ${DHT_PROTOCOL}`)
    config.dhtProtocol = file.dhtProtocol
  }
  for (const flag of ['dht', 'mdns'] as const) {
    if (file[flag] === undefined) continue
    if (typeof file[flag] !== 'boolean') throw new ConfigError(`${path}: "${flag}" must be true or false`)
    config[flag] = file[flag]
  }
  if (file.listen !== undefined) config.listen = multiaddrList(file.listen, 'listen', path)
  if (file.bootstrap !== undefined) config.bootstrap = multiaddrList(file.bootstrap, 'bootstrap', path)
  if (file.bits !== undefined) {
    if (typeof file.bits !== 'number' || !Number.isInteger(file.bits) || file.bits < MIN_POW_BITS || file.bits > MAX_POW_BITS) {
      throw new ConfigError(`${path}: "bits" must be a whole number from ${MIN_POW_BITS} to ${MAX_POW_BITS}`)
    }
    config.bits = file.bits
  }
  if (file.apiListen !== undefined) {
    parseApiListen(file.apiListen, path)
    config.apiListen = file.apiListen as string
  }
  if (file.web !== undefined) {
    parseApiListen(file.web, path, 'web')
    config.web = file.web as string
  }
  if (file.http !== undefined) {
    parseHttpListen(file.http, path)
    config.http = file.http as string
  }
  if (file.maxOpenInboxes !== undefined) {
    if (typeof file.maxOpenInboxes !== 'number' || !Number.isInteger(file.maxOpenInboxes) || file.maxOpenInboxes < 1 || file.maxOpenInboxes > 100_000) {
      throw new ConfigError(`${path}: "maxOpenInboxes" must be a whole number from 1 to 100000`)
    }
    config.maxOpenInboxes = file.maxOpenInboxes
  }
  if (file.outboxMaxAgeDays !== undefined) {
    if (typeof file.outboxMaxAgeDays !== 'number' || !Number.isFinite(file.outboxMaxAgeDays) || file.outboxMaxAgeDays <= 0 || file.outboxMaxAgeDays > 3650) {
      throw new ConfigError(`${path}: "outboxMaxAgeDays" must be a positive number of days, at most 3650 (how long a mail is retried before it is given up)`)
    }
    config.outboxMaxAgeMs = file.outboxMaxAgeDays * DAY_MS
  }
  if (file.hostPolicy !== undefined) {
    const policy = file.hostPolicy
    if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) throw new ConfigError(`${path}: "hostPolicy" must be an object`)
    for (const [key, v] of Object.entries(policy)) {
      const field = POLICY_FIELDS[key as keyof typeof POLICY_FIELDS]
      if (field === undefined) throw new ConfigError(`${path}: unknown hostPolicy field "${key}" (known: ${Object.keys(POLICY_FIELDS).join(', ')})`)
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ConfigError(`${path}: hostPolicy.${key} must be a positive number`)
      Object.assign(config.hostPolicy, field.toPolicy(v))
    }
  }
  return config
}

const CONFIG_REMEDY = 'fix it, or delete it to get the defaults'

/** Read `<home>/config.json` (defaults when it is missing). ConfigError when it is damaged. */
export async function loadConfig (home: string): Promise<HomeConfig> {
  const path = join(home, CONFIG_FILE_NAME)
  return parseConfig(await readHomeFile(path, CONFIG_REMEDY), path)
}

/**
 * Keep `listen` in `<home>/config.json` (the rest of the file as it is): what `ipms daemon --listen`
 * does, so that a restarted daemon listens where the hosts' cards say it does. False when the file
 * already said so.
 */
export async function saveListen (home: string, listen: string[]): Promise<boolean> {
  const path = join(home, CONFIG_FILE_NAME)
  const file = (await readHomeFile(path, CONFIG_REMEDY) ?? defaultConfigFile()) as Record<string, unknown>
  if (JSON.stringify(parseConfig(file, path).listen) === JSON.stringify(listen)) return false
  const changed = { ...file, listen }
  parseConfig(changed, path)
  await writeJsonSynced(home, CONFIG_FILE_NAME, changed)
  return true
}

/** Write the default config into a new home (never over an existing one). */
export async function writeDefaultConfig (home: string, bits?: number): Promise<void> {
  // A damaged file is the user's to fix (ConfigError, exit 78), not a crash.
  if (await readHomeFile(join(home, CONFIG_FILE_NAME), CONFIG_REMEDY) !== undefined) return
  await writeJsonSynced(home, CONFIG_FILE_NAME, defaultConfigFile(bits))
}
