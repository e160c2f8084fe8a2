/**
 * The routes of the daemon's local API, v1 (docs/API.md, "Routes"): one table of method, path,
 * body limit and handler; each handler calls one operation of the daemon (src/daemon/daemon.ts)
 * and answers the shape `ipms … --json` prints (src/daemon/views.ts). Request fields are checked
 * here (types, sizes, ranges) before anything is done; unknown fields are refused, so that a
 * client's typo is not silently ignored.
 */
import { MAX_ATTACHMENTS, MAX_CARD_ADDRS, MAX_MAIL_BYTES, MAX_POW_BITS, MIN_POW_BITS } from '../constants.ts'
import type { Daemon } from '../daemon/daemon.ts'
import { grantSummary, mailDetail, sentDetail, mailRow, sentRow, sentSubjects, notDeliveredError, outboxRow, retrySummary, sendSummary, syncSummary } from '../daemon/views.ts'
import { ConfigError, InvalidArgumentError, NotFoundError } from '../errors.ts'
import type { HomeConfig } from '../home/config.ts'
import { openContacts } from '../home/contacts.ts'
import { shortId } from '../mail/find-mail.ts'
import { openMailStore } from '../mail/mail-store.ts'
import { replyTarget } from '../mail/reply-target.ts'
import { matchIdEnd } from '../util/id-end.ts'
import type { Attachment } from '../mail/mail.ts'
import { renderMessage } from '../mail/rfc5322.ts'
import { destinationOfEntry } from '../node/outbox.ts'
import { resolveRecipient } from '../node/resolve-recipient.ts'
import { MAX_BODY_BYTES, MAX_SEND_BODY_BYTES } from './body.ts'

/** What handlers work with. */
export interface ApiContext {
  daemon: Daemon
  home: string
  config: HomeConfig
}

/** One request, decoded. */
export interface ApiCall {
  /** The path's captured parts (`:id`), decoded. */
  params: string[]
  query: URLSearchParams
  /** The JSON body (`{}` when none; GET routes have none). */
  body: Record<string, unknown>
  /** Aborts when the client goes away or the daemon stops. */
  signal: AbortSignal
  /** A progress line (NDJSON routes; a no-op elsewhere). */
  progress: (progress: { stage: string } & Record<string, unknown>) => void
}

export interface Route {
  method: 'GET' | 'POST'
  /** Matched against the path after `/api/v1`. */
  path: RegExp
  /**
   * `json`: one answer; `ndjson`: progress lines then the result; `sse`: the event stream; `file`:
   * `{ name, data }` sent as a download (handler.ts).
   */
  answer: 'json' | 'ndjson' | 'sse' | 'file'
  /** Only for local programs with the API cookie, not for a web inbox session (minting login links). */
  cookieOnly?: boolean
  /** Body limit, bytes (POST). */
  maxBody: number
  /** The result, inside `{ ok: true, … }`. Throws an IpmsError to fail. */
  handle: (call: ApiCall, context: ApiContext) => Promise<Record<string, unknown>>
}

/** Peer-id → contact name. */
const namesOf = async (daemon: Daemon): Promise<Map<string, string>> => await daemon.names()

/** Refuse fields other than `known`. */
function onlyFields (body: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(body).filter(k => !known.includes(k))
  if (unknown.length > 0) throw new InvalidArgumentError(`Unknown field${unknown.length === 1 ? '' : 's'} ${unknown.slice(0, 5).map(k => JSON.stringify(k.slice(0, 40))).join(', ')} (known: ${known.join(', ')})`)
}

const optional = <T>(body: Record<string, unknown>, field: string, check: (v: unknown) => v is T, what: string): T | undefined => {
  const value = body[field]
  if (value === undefined) return undefined
  if (!check(value)) throw new InvalidArgumentError(`"${field}" must be ${what}`)
  return value
}

const isString = (max: number) => (v: unknown): v is string => typeof v === 'string' && v.length <= max
const isWhole = (min: number, max: number) => (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean'

/** Base64 as JSON carries bytes: the standard alphabet, padded. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** `attachments`: at most MAX_ATTACHMENTS of `{ name, type, data: base64 }`; the mail model checks names, types and sizes. */
function attachmentsOf (value: unknown): Attachment[] {
  if (value === undefined) return []
  if (!Array.isArray(value) || value.length > MAX_ATTACHMENTS) throw new InvalidArgumentError(`"attachments" must be a list of at most ${MAX_ATTACHMENTS} { name, type, data } objects`)
  return value.map((a: unknown, i) => {
    const { name, type, data } = (typeof a === 'object' && a !== null ? a : {}) as Record<string, unknown>
    if (!isString(255)(name) || !isString(255)(type) || typeof data !== 'string' || !BASE64.test(data)) {
      throw new InvalidArgumentError(`attachments[${i}] must be { name, type, data } with data in base64`)
    }
    return { name, type, data: new Uint8Array(Buffer.from(data, 'base64')) }
  })
}

/** Longest time a client may give a host, ms (10 min). */
const MAX_TIMEOUT_MS = 600_000

const get = (path: RegExp, handle: Route['handle']): Route => ({ method: 'GET', path, answer: 'json', maxBody: 0, handle })
/** A POST answered with one JSON object, its body limited to `fields` (MAX_BODY_BYTES). */
const post = (path: RegExp, fields: readonly string[], handle: Route['handle']): Route => ({
  method: 'POST',
  path,
  answer: 'json',
  maxBody: MAX_BODY_BYTES,
  handle: async (call, context) => { onlyFields(call.body, fields); return await handle(call, context) }
})

/** A required string field of at most `max` characters. */
function required (body: Record<string, unknown>, field: string, max: number, what: string): string {
  const value = optional(body, field, isString(max), what)
  if (value === undefined || value === '') throw new InvalidArgumentError(`"${field}" is required: ${what}`)
  return value
}

/** Longest lifetime a client may give a grant or a pass, ms (100 years: what --expires accepts is far less). */
const MAX_TTL_MS = 100 * 365 * 86_400_000
const ttlOf = (body: Record<string, unknown>): { ttlMs?: number } => {
  const ttlMs = optional(body, 'ttlMs', isWhole(1, MAX_TTL_MS), `a lifetime in ms, from 1 to ${MAX_TTL_MS}`)
  return ttlMs === undefined ? {} : { ttlMs }
}
/** Records (cards, grants, passes) are a few hundred characters; a bound well above. */
const MAX_RECORD_CHARS = 16 * 1024

export const ROUTES: readonly Route[] = [
  get(/^\/id$/, async (_call, { daemon }) => ({ ...daemon.id(), hosts: await daemon.hosts() })),
  get(/^\/card$/, async (_call, { daemon }) => {
    const { text, card } = await daemon.card()
    return { card: text, owner: card.owner, bits: card.bits, hosts: card.hosts, ts: card.ts }
  }),
  get(/^\/hosts$/, async (_call, { daemon }) => ({ hosts: await daemon.hosts() })),
  get(/^\/hosted$/, async (_call, { daemon }) => ({ hosted: await daemon.hosted(), skipped: daemon.node.hosting.skipped })),
  get(/^\/contacts$/, async (_call, { daemon, home }) => ({ contacts: await daemon.contacts(), issued: await openContacts(home).issued() })),
  get(/^\/mail$/, async ({ query }, { daemon }) => {
    const names = await namesOf(daemon)
    const mail = (await daemon.list({ all: query.get('all') === '1' })).map(m => mailRow(m, names))
    // No name at all: say so when contacts.json is damaged (the client need not read it itself).
    const contactsProblem = mail.length > 0 && mail.every(m => m.name === undefined) ? await daemon.contacts().then(() => undefined, (err: unknown) => err instanceof ConfigError ? err.message : undefined) : undefined
    return { mail, ...(contactsProblem === undefined ? {} : { contactsProblem }) }
  }),
  get(/^\/sent$/, async (_call, { daemon }) => {
    const names = await namesOf(daemon)
    return { sent: (await daemon.sent()).map(m => sentRow(m, names)) }
  }),
  get(/^\/sent\/([^/]{1,128})$/, async ({ params }, { daemon }) => {
    const matches = matchIdEnd(await daemon.sent(), params[0]!, s => s.env)
    if (matches.length !== 1) throw new NotFoundError(matches.length === 0 ? `No sent mail ${params[0]!.slice(0, 40)} here (GET /sent lists them)` : `${params[0]!.slice(0, 40)} names ${matches.length} sent mails: give more of the id`)
    return { mail: sentDetail(matches[0]!, (await namesOf(daemon)).get(matches[0]!.mail.to)) }
  }),
  get(/^\/mail\/([^/]{1,128})$/, async ({ params, query }, { daemon }) => {
    const stored = await daemon.read(params[0]!)
    const name = (await namesOf(daemon)).get(stored.mail.from)
    if (query.get('raw') === '1') return { raw: Buffer.from(await renderMessage(stored, { fromName: name })).toString('utf8') }
    return { mail: mailDetail(stored, name) }
  }),
  {
    method: 'GET',
    path: /^\/mail\/([^/]{1,128})\/attachments\/(\d{1,3})$/,
    answer: 'file',
    maxBody: 0,
    handle: async ({ params }, { daemon }) => {
      const stored = await daemon.read(params[0]!)
      const attachment = stored.mail.attachments[Number(params[1]) - 1]
      if (attachment === undefined) throw new NotFoundError(`Mail ${params[0]!.slice(0, 40)} has ${stored.mail.attachments.length === 1 ? '1 attachment' : `${stored.mail.attachments.length} attachments`} (counted from 1)`)
      return { name: attachment.name, data: attachment.data }
    }
  },
  { method: 'POST', path: /^\/web\/link$/, answer: 'json', maxBody: MAX_BODY_BYTES, cookieOnly: true, handle: async ({ body }, { daemon }) => { onlyFields(body, []); return daemon.webLink() } },
  get(/^\/outbox$/, async (_call, { daemon }) => {
    const names = await namesOf(daemon)
    const subjects = sentSubjects(await daemon.sent())
    return { outbox: (await daemon.outbox()).map(e => outboxRow(e, names, subjects)) }
  }),
  post(/^\/outbox\/([^/]{1,128})\/rm$/, [], async ({ params }, { daemon }) => {
    const entry = await daemon.cancelOutbox(params[0]!)
    return { id: entry.id, to: destinationOfEntry(entry).owner }
  }),
  post(/^\/mail\/([^/]{1,128})\/seen$/, [], async ({ params }, { daemon }) => {
    const { mail, changed } = await daemon.markSeen(params[0]!)
    return { id: shortId(mail.entry), entry: mail.entry, changed }
  }),
  post(/^\/mail\/([^/]{1,128})\/delete$/, [], async ({ params }, { daemon }) => {
    const stored = await daemon.deleteMail(params[0]!)
    return { deleted: { id: shortId(stored.entry), entry: stored.entry } }
  }),
  post(/^\/hosts\/grant$/, ['peer', 'addrs', 'ttlMs'], async ({ body }, { daemon }) => {
    const peer = required(body, 'peer', 128, 'the host\'s peer-id')
    const addrs = body.addrs
    if (!Array.isArray(addrs) || addrs.length > MAX_CARD_ADDRS || !addrs.every(isString(1024))) throw new InvalidArgumentError(`"addrs" must be a list of at most ${MAX_CARD_ADDRS} multiaddrs`)
    const { host, card } = await daemon.grantHost(peer, addrs, ttlOf(body))
    return grantSummary(host, card)
  }),
  post(/^\/hosts\/revoke$/, ['peer'], async ({ body }, { daemon }) => {
    const { host, card } = await daemon.revokeHost(required(body, 'peer', 128, 'the host\'s peer-id'))
    return { host: host.peer, card, ...(host.expires === undefined ? {} : { expires: host.expires }) }
  }),
  post(/^\/hosted\/accept$/, ['grant', 'card', 'bits'], async ({ body }, { daemon }) => {
    const grant = required(body, 'grant', MAX_RECORD_CHARS, 'the grant text (ipmsgrant…)')
    const card = optional(body, 'card', isString(MAX_RECORD_CHARS), 'the owner\'s address card (ipmscard…)')
    const bits = optional(body, 'bits', isWhole(MIN_POW_BITS, MAX_POW_BITS), `a difficulty from ${MIN_POW_BITS} to ${MAX_POW_BITS} bits`)
    const kept = await daemon.acceptGrant(grant, { ...(card === undefined ? {} : { card }), ...(bits === undefined ? {} : { bits }) })
    return { ...kept, daemon: true }
  }),
  post(/^\/hosted\/rm$/, ['owner'], async ({ body }, { daemon }) => ({ ...await daemon.dropHosted(required(body, 'owner', 128, 'the owner\'s peer-id')) })),
  post(/^\/contacts\/add$/, ['name', 'address', 'force', 'pass'], async ({ body }, { daemon }) => {
    const name = required(body, 'name', 256, 'the contact\'s name')
    const address = required(body, 'address', MAX_RECORD_CHARS, 'an address card (ipmscard…) or a peer-id')
    const force = optional(body, 'force', isBoolean, 'true or false') ?? false
    const pass = optional(body, 'pass', isString(MAX_RECORD_CHARS), 'the pass they gave you (ipmspass…)')
    return { contact: await daemon.addContact(name, address, { replace: force, ...(pass === undefined ? {} : { pass }) }) }
  }),
  post(/^\/contacts\/rm$/, ['name'], async ({ body }, { daemon }) => ({ contact: await daemon.removeContact(required(body, 'name', 256, 'the contact\'s name')) })),
  post(/^\/contacts\/pass$/, ['name', 'ttlMs'], async ({ body }, { daemon }) => {
    const { text, issued } = await daemon.issuePass(required(body, 'name', 256, 'the contact\'s name'), ttlOf(body))
    return { pass: text, id: issued.id, to: issued.to, issued: issued.issued, ...(issued.expires === undefined ? {} : { expires: issued.expires }) }
  }),
  {
    method: 'POST',
    path: /^\/outbox\/retry$/,
    answer: 'json',
    maxBody: MAX_BODY_BYTES,
    handle: async ({ body }, { daemon }) => {
      onlyFields(body, ['force', 'timeoutMs', 'id'])
      const force = optional(body, 'force', isBoolean, 'true or false')
      const timeoutMs = optional(body, 'timeoutMs', isWhole(1, MAX_TIMEOUT_MS), `a whole number of ms from 1 to ${MAX_TIMEOUT_MS}`)
      const id = optional(body, 'id', isString(128), 'a waiting mail\'s id (or the end of it)')
      const tried = await daemon.retryOutbox({ ...(force === undefined ? {} : { force }), ...(timeoutMs === undefined ? {} : { timeoutMs }), ...(id === undefined ? {} : { id }) })
      return retrySummary(tried, await daemon.outbox())
    }
  },
  {
    method: 'POST',
    path: /^\/sync$/,
    answer: 'ndjson',
    maxBody: MAX_BODY_BYTES,
    handle: async ({ body, progress }, { daemon }) => {
      onlyFields(body, [])
      progress({ stage: 'sync', hosts: (await daemon.hosts()).length })
      const result = await daemon.syncNow()
      return syncSummary(result, await namesOf(daemon), result.outboxDelivered)
    }
  },
  {
    method: 'POST',
    path: /^\/send$/,
    answer: 'ndjson',
    maxBody: MAX_SEND_BODY_BYTES,
    handle: async ({ body, progress, signal }, { daemon, home, config }) => {
      onlyFields(body, ['to', 'subject', 'body', 'attachments', 'replicas', 'timeoutMs', 'inReplyTo', 'ownCard'])
      const ownCard = optional(body, 'ownCard', isBoolean, 'true or false') ?? true
      const to = optional(body, 'to', isString(16 * 1024), 'a contact name, an address card or a peer-id')
      if (to === undefined || to === '') throw new InvalidArgumentError('"to" is required: a contact name, an address card or a peer-id')
      const text = optional(body, 'body', isString(MAX_MAIL_BYTES), `the message text (at most ${MAX_MAIL_BYTES} characters)`) ?? ''
      const subject = optional(body, 'subject', isString(MAX_MAIL_BYTES), 'a string') ?? ''
      const given = optional(body, 'inReplyTo', isString(1024), 'the mail this answers: its id in GET /mail, or its Message-ID')
      const inReplyTo = given === undefined ? undefined : await replyTarget(openMailStore(home, { maildir: false }), given)
      const replicas = optional(body, 'replicas', isWhole(1, 64), 'a whole number from 1 to 64') ?? 1
      const timeoutMs = optional(body, 'timeoutMs', isWhole(1, MAX_TIMEOUT_MS), `a whole number of ms from 1 to ${MAX_TIMEOUT_MS}`) ?? 30_000
      const attachments = attachmentsOf(body.attachments)
      const recipient = await resolveRecipient(to, { home, config, signal, onLookup: peer => { progress({ stage: 'lookup', peer }) } })
      const { destination } = recipient
      progress({ stage: 'resolve', to: recipient.peer, name: recipient.name, via: recipient.via, hosts: destination.hosts.length, bits: destination.bits, pass: destination.pass !== undefined, cardTs: destination.card?.ts, notes: recipient.notes })
      const sent = await daemon.send({ subject, body: text, attachments, ...(inReplyTo === undefined ? {} : { inReplyTo }) }, {
        card: destination,
        ownCard,
        replicas,
        timeoutMs,
        signal,
        onProgress: p => { progress({ stage: 'pow', bits: destination.bits, attempts: p.attempts, elapsedMs: p.elapsedMs }) },
        onHost: host => { progress({ stage: 'deliver', host }) }
      })
      const summary = sendSummary(recipient, sent)
      if (!sent.delivered) throw notDeliveredError(sent, summary)
      // An answer delivered: the mail answered is marked so (`r`), as ipms reply marks it.
      if (inReplyTo !== undefined) await daemon.markReplied(inReplyTo)
      return summary
    }
  },
  { method: 'GET', path: /^\/events$/, answer: 'sse', maxBody: 0, handle: async () => ({}) }
]

/** The route for `method` and `path`, or what is wrong: no such path (404), or another method (405, with the one allowed). */
export function findRoute (method: string, path: string): { route: Route, params: string[] } | { missing: 'path' } | { missing: 'method', allow: string } {
  const matching = ROUTES.filter(r => r.path.test(path))
  if (matching.length === 0) return { missing: 'path' }
  const route = matching.find(r => r.method === method)
  if (route === undefined) return { missing: 'method', allow: matching.map(r => r.method).join(', ') }
  const params = (route.path.exec(path) ?? []).slice(1).map(p => {
    try { return decodeURIComponent(p) } catch { throw new InvalidArgumentError('The path has a malformed %-escape') }
  })
  return { route, params }
}
