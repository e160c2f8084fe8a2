/**
 * Types for `@orbitdb/core` 4.0.0, which ships none: only what IPMS uses, loosely.
 *
 * Read against node_modules/@orbitdb/core/src (orbitdb.js, database.js, oplog/log.js,
 * oplog/entry.js, storage/*.js, key-store.js, identities/identities.js). Where OrbitDB is dynamic
 * (payloads, AC and database factories) the types say `any`/`unknown` rather than pretend.
 *
 * Watch out for: `open(..., { sync })` is passed to the database as `syncAutomatically`, and Sync
 * starts unless it is exactly `false` (sync.js: `if (start !== false)`), despite database.js
 * documenting a default of false. A custom database type must forward `syncAutomatically` to
 * `Database(...)` or its Sync starts anyway.
 */
declare module '@orbitdb/core' {
  import type { EventEmitter } from 'node:events'

  // ── storage (storage/*.js): every backend has this shape ────────────────────────────────────
  export interface Storage<V = Uint8Array> {
    put(hash: string, data: V, signal?: AbortSignal): Promise<void>
    get(hash: string, signal?: AbortSignal): Promise<V | undefined>
    del(hash: string): Promise<void>
    iterator(options?: { amount?: number, reverse?: boolean }): AsyncGenerator<[string, V]>
    merge(other: Storage<V>): Promise<void>
    clear(): Promise<void>
    close(): Promise<void>
    /** IPFSBlockStorage only: pin the block if the storage pins. */
    persist?(hash: string, signal?: AbortSignal): Promise<void>
  }
  /** Blocks in helia's blockstore; `pin` pins what is put; `timeout` (ms, default 30 000) bounds get/put. */
  export function IPFSBlockStorage (params: { ipfs: any, pin?: boolean, timeout?: number }): Promise<Storage>
  /** A LevelDB at `path` (default './level'); `valueEncoding` default 'view' (Uint8Array). */
  export function LevelStorage (params?: { path?: string, valueEncoding?: string }): Promise<Storage<any>>
  /** An in-memory LRU of `size` entries (default 1 000 000). */
  export function LRUStorage (params?: { size?: number }): Promise<Storage<any>>
  export function MemoryStorage (): Promise<Storage<any>>
  /** Reads from `first`, then `second` (copying hits into `first`); writes to both. */
  export function ComposedStorage (first: Storage<any>, second: Storage<any>): Promise<Storage<any>>

  // ── keys and identities ─────────────────────────────────────────────────────────────────────
  export interface KeyStoreInstance {
    clear(): Promise<void>
    close(): Promise<void>
    hasKey(id: string): Promise<boolean>
    /** `key.privateKey`: raw libp2p private key bytes (64 bytes → Ed25519, 32 → secp256k1). */
    addKey(id: string, key: { privateKey: Uint8Array, publicKey?: Uint8Array }): Promise<void>
    /** A new secp256k1 key stored under `id`. */
    createKey(id: string): Promise<any>
    getKey(id: string): Promise<any>
    getPublic(key: any, options?: { format?: 'hex' | 'buffer' }): string | Uint8Array
  }
  export function KeyStore (params?: { storage?: Storage<any>, path?: string }): Promise<KeyStoreInstance>

  /** An OrbitDB identity: `id` and `publicKey` are hex strings; `hash` is the identity block's CID. */
  export interface OrbitDBIdentity {
    id: string
    publicKey: string
    signatures: { id: string, publicKey: string }
    type: string
    hash: string
    bytes: Uint8Array
    sign(identity: OrbitDBIdentity, data: string | Uint8Array): Promise<string>
    verify(signature: string, publicKey: string, data: string | Uint8Array): Promise<boolean>
  }
  export interface IdentitiesInstance {
    createIdentity(options?: { id?: string, provider?: unknown }): Promise<OrbitDBIdentity>
    getIdentity(hash: string): Promise<OrbitDBIdentity | undefined>
    verifyIdentity(identity: unknown): Promise<boolean>
    sign(identity: OrbitDBIdentity, data: string | Uint8Array): Promise<string>
    verify(signature: string, publicKey: string, data: string | Uint8Array): Promise<boolean>
    keystore: KeyStoreInstance
  }
  export function Identities (params?: { keystore?: KeyStoreInstance, path?: string, storage?: Storage<any>, ipfs?: any }): Promise<IdentitiesInstance>
  export function isIdentity (value: unknown): boolean
  export function useIdentityProvider (provider: unknown): void
  export const PublicKeyIdentityProvider: any

  // ── the log (oplog/) ────────────────────────────────────────────────────────────────────────
  export interface Clock { id: string, time: number }
  /**
   * A log entry. `key` is covered by `sig`; `identity` (the hash of an identity block) is NOT
   * (DESIGN §5): never authorise by it (inbox rules v2 require it to equal `key`). `payload` is attacker-controlled on joined entries: it is
   * `any` by default so that a database type can declare its own entry shape; check it anyway.
   */
  export interface LogEntry<P = any> {
    id: string
    payload: P
    next: string[]
    refs: string[]
    clock: Clock
    v: number
    key: string
    identity: string
    sig: string
    hash: string
    bytes: Uint8Array
  }
  export interface Log {
    id: string
    clock(): Promise<Clock>
    heads(): Promise<LogEntry[]>
    values(): Promise<LogEntry[]>
    all(): Promise<LogEntry[]>
    get(hash: string): Promise<LogEntry | undefined>
    has(hash: string): Promise<boolean>
    append(payload: unknown, options?: { referencesCount?: number }): Promise<LogEntry>
    join(log: Log): Promise<void>
    /** Verifies (access, signature, …) and adds an entry and whatever it links to; false if known. */
    joinEntry(entry: LogEntry): Promise<boolean>
    traverse(rootEntries?: LogEntry[] | null, shouldStopFn?: (entry: LogEntry, useRefs?: boolean) => Promise<boolean>, useRefs?: boolean): AsyncGenerator<LogEntry>
    iterator(options?: { gt?: string, gte?: string, lt?: string, lte?: string, amount?: number }): AsyncGenerator<LogEntry>
    clear(): Promise<void>
    close(): Promise<void>
    access: AccessControllerInstance
    identity: OrbitDBIdentity
    storage: Storage
    encryption: unknown
  }
  export const Log: (identity: OrbitDBIdentity, options?: Record<string, unknown>) => Promise<Log>
  export const Entry: {
    create(identity: OrbitDBIdentity, id: string, payload: unknown, encryptPayloadFn?: unknown, clock?: Clock | null, next?: string[], refs?: string[]): Promise<LogEntry>
    verify(identities: IdentitiesInstance, entry: LogEntry): Promise<boolean>
    decode(bytes: Uint8Array, decryptEntryFn?: unknown, decryptPayloadFn?: unknown): Promise<LogEntry>
    encode(entry: unknown, encryptEntryFn?: unknown, encryptPayloadFn?: unknown): Promise<{ hash: string, bytes: Uint8Array }>
    isEntry(value: unknown): boolean
    isEqual(a: LogEntry, b: LogEntry): boolean
  }
  export const DefaultAccessController: any

  // ── access controllers ──────────────────────────────────────────────────────────────────────
  export interface AccessControllerInstance {
    type: string
    address: string
    canAppend(entry: LogEntry): Promise<boolean>
    close?(): Promise<void>
    drop?(): Promise<void>
    [key: string]: unknown
  }
  /**
   * What an access controller factory returns. Called with `{ address }` only when a database is
   * opened by address, with `name` when opened by name.
   */
  export type AccessControllerInit = (args: {
    orbitdb: { open: OrbitDB['open'], identity: OrbitDBIdentity, ipfs: any }
    identities: IdentitiesInstance
    address?: string
    name?: string
  }) => Promise<AccessControllerInstance>
  /** `(params) => AccessControllerInit` with a static `type`; register with `useAccessController`. */
  export interface AccessControllerFactory {
    (params?: any): AccessControllerInit
    type: string
  }
  /** Register an access controller type (a global registry; registering a type again replaces it). */
  export function useAccessController (factory: AccessControllerFactory): void
  export const IPFSAccessController: AccessControllerFactory
  export const OrbitDBAccessController: AccessControllerFactory

  // ── databases ───────────────────────────────────────────────────────────────────────────────
  /** What `Database(...)` and a database type's init receive. */
  export interface DatabaseParams {
    ipfs: any
    identity: OrbitDBIdentity
    address: string
    name?: string
    access?: AccessControllerInstance
    directory?: string
    meta?: unknown
    headsStorage?: Storage<any>
    entryStorage?: Storage<any>
    indexStorage?: Storage<any>
    referencesCount?: number
    /** Sync (pubsub + head exchange) starts unless this is exactly `false`. */
    syncAutomatically?: boolean
    onUpdate?: (log: Log, entry: LogEntry) => Promise<void> | void
    encryption?: unknown
  }
  export interface Sync {
    add(entry: LogEntry): Promise<void>
    stop(): Promise<void>
    start(): Promise<void>
    events: EventEmitter
    peers: Set<string>
  }
  /** The base database (database.js). Its `events` emit 'update', 'close', 'drop', 'join', 'leave', 'error'. */
  export interface Database {
    address: string
    name?: string
    identity: OrbitDBIdentity
    meta: unknown
    close(): Promise<void>
    drop(): Promise<void>
    addOperation(op: unknown): Promise<string>
    log: Log
    sync: Sync
    peers: Set<string>
    /** An EventEmitter: an 'error' with no listener crashes Node (DESIGN §5). */
    events: EventEmitter
    access: AccessControllerInstance
    [key: string]: unknown
  }
  export function Database (params: DatabaseParams): Promise<Database>

  /** `() => (params) => Promise<database>` with a static `type`; register with `useDatabaseType`. */
  export interface DatabaseTypeFactory {
    (...args: any[]): (params: DatabaseParams) => Promise<Database>
    type: string
  }
  /** Register a database type (a global registry; registering a type again replaces it). */
  export function useDatabaseType (factory: DatabaseTypeFactory): void
  export const Events: DatabaseTypeFactory
  export const Documents: DatabaseTypeFactory
  export const KeyValue: DatabaseTypeFactory
  export const KeyValueIndexed: DatabaseTypeFactory

  // ── addresses ───────────────────────────────────────────────────────────────────────────────
  export function isValidAddress (address: unknown): boolean
  export function parseAddress (address: string): { protocol: string, hash: string, address: string, toString(): string }

  // ── OrbitDB itself ──────────────────────────────────────────────────────────────────────────
  export interface OpenOptions {
    /** Database type (default 'events'); taken from the manifest when opening by address. */
    type?: string
    /** Stored in the manifest when creating; ignored when opening by address. */
    meta?: unknown
    /** Start OrbitDB's built-in Sync (default true): pass `false` to keep it off. */
    sync?: boolean
    Database?: unknown
    /** An `AccessControllerInit` (the result of calling a factory), used when opening by name. */
    AccessController?: AccessControllerInit
    headsStorage?: Storage<any>
    entryStorage?: Storage<any>
    indexStorage?: Storage<any>
    referencesCount?: number
    encryption?: unknown
    /** Aborts fetching the manifest when opening by address. */
    signal?: AbortSignal
  }
  export interface OrbitDB {
    id: string
    /** Open by address (`/orbitdb/zdpu…`) or create/open by name; returns the open instance if any. */
    open(address: string, options?: OpenOptions): Promise<Database & Record<string, any>>
    /** Closes every open database, the keystore and the manifest store. */
    stop(): Promise<void>
    ipfs: any
    directory: string
    keystore: KeyStoreInstance
    identities: IdentitiesInstance
    identity: OrbitDBIdentity
    peerId: any
  }
  export interface CreateOrbitDBOptions {
    /** A helia node (its `libp2p.services.pubsub` is used by Sync). */
    ipfs: any
    /** Name of the identity key in the keystore (default: a random id, new on each start). */
    id?: string
    identity?: OrbitDBIdentity | { provider: unknown, [key: string]: unknown }
    identities?: IdentitiesInstance
    /** Directory of OrbitDB's own state (default './orbitdb'); keystore in `<directory>/keystore`. */
    directory?: string
  }
  export function createOrbitDB (options: CreateOrbitDBOptions): Promise<OrbitDB>
}
