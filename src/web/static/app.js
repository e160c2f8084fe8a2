// The web inbox (README, "The web inbox"): one page over the daemon's local API (docs/API.md),
// with the session cookie the login link gave. Views by the address's hash: #/inbox,
// #/mail/<id>, #/chats, #/chat/<peer>, #/sent, #/sent/<id>, #/outbox, #/compose. New mail and
// outbox changes arrive as the daemon's Server-Sent Events and show without a reload.
import { count, el, fullDate, humanBytes, shortPeer, show, when, who } from './view.js'

const main = document.getElementById('main')
const live = document.getElementById('live')
const toasts = document.getElementById('toasts')

// ── the daemon's API ──────────────────────────────────────────────────────────────────────────

class ApiError extends Error {
  constructor (code, message) { super(message); this.code = code }
}

let loggedOut = false

/** One JSON answer of the API; ApiError with the daemon's code and message when it refused. */
async function api (path, { method = 'GET', body } = {}) {
  const res = await fetch(`/api/v1${path}`, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  if (res.status === 401) { showLoggedOut(); throw new ApiError('ERR_UNAUTHORIZED', 'Not logged in') }
  const data = await res.json().catch(() => ({ ok: false, error: { code: 'ERR_UNEXPECTED', message: `The daemon answered ${res.status}` } }))
  if (data.ok !== true) throw new ApiError(data.error?.code, data.error?.message ?? 'The daemon refused')
  return data
}

/** A long operation (send): each progress line to `onProgress`, then the final answer. */
async function apiStream (path, body, onProgress) {
  const res = await fetch(`/api/v1${path}`, { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
  if (res.status === 401) { showLoggedOut(); throw new ApiError('ERR_UNAUTHORIZED', 'Not logged in') }
  if (!(res.headers.get('content-type') ?? '').startsWith('application/x-ndjson')) {
    const data = await res.json()
    throw new ApiError(data.error?.code, data.error?.message ?? `The daemon answered ${res.status}`)
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffered = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    buffered += value
    let newline
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const line = JSON.parse(buffered.slice(0, newline))
      buffered = buffered.slice(newline + 1)
      if (line.progress !== undefined) { onProgress(line.progress); continue }
      // The final line: the answer ends here.
      void reader.cancel().catch(() => {})
      if (line.ok === true) return line
      throw new ApiError(line.error?.code, line.error?.message ?? 'The daemon refused')
    }
  }
  throw new ApiError('ERR_UNEXPECTED', 'The daemon ended the answer early')
}

// ── state ─────────────────────────────────────────────────────────────────────────────────────

const state = { me: undefined, mail: [], sent: [], outbox: [], contacts: [] }

async function loadMail () { state.mail = (await api('/mail')).mail; badge('unread-count', state.mail.filter(m => m.unread).length) }
async function loadSent () { state.sent = (await api('/sent')).sent }
async function loadOutbox () { state.outbox = (await api('/outbox')).outbox; badge('outbox-count', state.outbox.length) }

function badge (id, n) {
  const node = document.getElementById(id)
  node.hidden = n === 0
  node.textContent = String(n)
}

function toast (text, { error = false } = {}) {
  const node = el('div', { class: error ? 'toast error' : 'toast' }, text)
  toasts.append(node)
  setTimeout(() => { node.remove() }, error ? 8000 : 4000)
}

function showLoggedOut () {
  if (loggedOut) return
  loggedOut = true
  live.className = 'live off'
  show(main, el('div', { class: 'notice' },
    el('h2', {}, 'Log in to your inbox'),
    el('p', {}, 'In a terminal on this machine, run ', el('code', {}, 'ipms web'), ' and open the link it prints. A link works once, within 10 minutes.')))
}

// ── views ─────────────────────────────────────────────────────────────────────────────────────

function setTab (tab) {
  for (const a of document.querySelectorAll('.tabs a')) {
    if (a.dataset.tab === tab) a.setAttribute('aria-current', 'page')
    else a.removeAttribute('aria-current')
  }
}

function mailRows (rows, selected, hrefOf, whoOf) {
  if (rows.length === 0) return el('p', { class: 'empty' }, 'Nothing here yet.')
  return el('ul', { class: 'list', id: 'mail-list' }, rows.map(m => el('li', {},
    el('a', { class: m.unread ? 'row unread' : 'row', href: hrefOf(m), 'data-entry': m.entry ?? m.env, 'aria-current': m.id === selected ? 'true' : undefined },
      el('span', { class: 'who' }, whoOf(m)),
      el('span', { class: 'when' }, when(m.date)),
      el('span', { class: 'subject' },
        m.subject === '' ? '(no subject)' : m.subject,
        m.attachments > 0 ? el('span', { class: 'marks' }, `  · ${count(m.attachments, 'attachment')}`) : null,
        m.replied ? el('span', { class: 'marks' }, '  · replied') : null)))))
}

async function inboxView (selected) {
  setTab('inbox')
  await loadMail()
  const list = mailRows(state.mail, selected, m => `#/mail/${m.id}`, m => who(m.name, m.from))
  if (selected === undefined) { show(main, el('div', { class: 'split' }, list)); return }
  const detail = (await api(`/mail/${encodeURIComponent(selected)}`)).mail
  const row = state.mail.find(m => m.id === selected)
  if (row?.unread === true) {
    await api(`/mail/${encodeURIComponent(selected)}/seen`, { method: 'POST' })
    row.unread = false
    badge('unread-count', state.mail.filter(m => m.unread).length)
    list.querySelector(`[data-entry="${CSS.escape(row.entry)}"]`)?.classList.remove('unread')
  }
  show(main, el('div', { class: 'split reading' }, list, reader(detail, 'received')))
}

function reader (mail, kind) {
  const received = kind === 'received'
  const headers = el('dl', { class: 'headers' },
    el('dt', {}, received ? 'From' : 'To'),
    el('dd', {}, who(mail.name, received ? mail.from : mail.to), ' ', el('span', { class: 'verified' }, received ? '✓ signature verified' : ''), el('br'), el('small', {}, received ? mail.from : mail.to)),
    received ? [el('dt', {}, 'To'), el('dd', {}, mail.to === state.me?.peerId ? 'you' : mail.to)] : null,
    el('dt', {}, 'Date'), el('dd', {}, fullDate(mail.date)))
  const attachments = mail.attachments.length === 0
    ? null
    : el('ul', { class: 'attachments' }, mail.attachments.map((a, i) => el('li', {}, received
      ? el('a', { href: `/api/v1/mail/${encodeURIComponent(mail.id)}/attachments/${i + 1}`, download: a.name }, `⬇ ${a.name} (${humanBytes(a.size)})`)
      : `${a.name} (${humanBytes(a.size)})`)))
  const actions = received
    ? el('div', { class: 'actions' },
      el('a', { class: 'button primary', href: `#/compose?reply=${encodeURIComponent(mail.id)}` }, 'Reply'),
      el('a', { class: 'button', href: `#/chat/${encodeURIComponent(mail.from)}` }, 'Conversation'),
      el('button', { class: 'danger', type: 'button', on: { click: () => { void deleteMail(mail) } } }, 'Delete'))
    : null
  return el('article', { class: 'reader', id: 'reader', 'data-entry': mail.entry ?? mail.env },
    el('a', { class: 'back', href: received ? '#/inbox' : '#/sent' }, '← Back'),
    el('h1', {}, mail.subject === '' ? '(no subject)' : mail.subject),
    headers,
    el('pre', { class: 'body', id: 'mail-body' }, mail.body),
    attachments,
    actions)
}

async function deleteMail (mail) {
  if (!confirm(`Delete "${mail.subject || '(no subject)'}" here? It was dropped from your hosts when you read it, so it cannot come back.`)) return
  try {
    await api(`/mail/${encodeURIComponent(mail.id)}/delete`, { method: 'POST' })
    toast('Deleted.')
    location.hash = '#/inbox'
  } catch (err) { toast(err.message, { error: true }) }
}

async function sentView (selected) {
  setTab('sent')
  await loadSent()
  const list = mailRows(state.sent, selected, m => `#/sent/${m.id}`, m => `to ${who(m.name, m.to)}`)
  if (selected === undefined) { show(main, el('div', { class: 'split' }, list)); return }
  const detail = (await api(`/sent/${encodeURIComponent(selected)}`)).mail
  show(main, el('div', { class: 'split reading' }, list, reader(detail, 'sent')))
}

async function outboxView () {
  setTab('outbox')
  await loadOutbox()
  if (state.outbox.length === 0) { show(main, el('p', { class: 'empty' }, 'Nothing waits: every mail sent got its receipts.')); return }
  show(main, el('ul', { class: 'list outbox' }, state.outbox.map(o => el('li', {},
    el('div', { class: 'row' },
      el('span', { class: 'who' }, `to ${who(o.name, o.to)}`),
      el('span', { class: 'when' }, when(o.created)),
      el('span', { class: 'subject' }, o.subject ?? '(subject unknown)', ` · ${o.receipts} of ${count(o.replicas, 'receipt')} · ${count(o.attempts, 'attempt')}`),
      o.gaveUp !== undefined
        ? el('span', { class: 'reason gave-up' }, `Given up: ${o.gaveUp.reason ?? o.lastError ?? ''}`)
        : o.lastError !== undefined ? el('span', { class: 'reason' }, o.lastError) : null,
      el('span', { class: 'actions' },
        el('button', { type: 'button', on: { click: () => { void retry(o) } } }, 'Retry now'),
        el('button', { type: 'button', class: 'danger', on: { click: () => { void cancel(o) } } }, 'Remove')))))))
}

async function retry (entry) {
  try {
    const result = await api('/outbox/retry', { method: 'POST', body: { id: entry.id } })
    toast(result.delivered?.length > 0 ? 'Delivered.' : 'Not delivered yet: it stays in the outbox.')
  } catch (err) { toast(err.message, { error: true }) }
  await route()
}

async function cancel (entry) {
  if (!confirm('Stop trying to deliver this mail? It stays in Sent.')) return
  try { await api(`/outbox/${encodeURIComponent(entry.id)}/rm`, { method: 'POST' }) } catch (err) { toast(err.message, { error: true }) }
  await route()
}

/** A mail's text quoted for an answer, as mail tools quote. */
const quoted = mail => `\n\nOn ${fullDate(mail.date)}, ${who(mail.name, mail.from)} wrote:\n${mail.body.replace(/\n$/, '').split('\n').map(l => `> ${l}`).join('\n')}\n`

async function composeView (params) {
  setTab('')
  const replyTo = params.get('reply')
  const original = replyTo === null ? undefined : (await api(`/mail/${encodeURIComponent(replyTo)}`)).mail
  const contacts = (await api('/contacts')).contacts
  const to = el('input', { name: 'to', required: true, list: 'contact-names', autocomplete: 'off', placeholder: 'a contact name, an address card (ipmscard…) or a peer-id', value: original === undefined ? params.get('to') ?? '' : original.card ?? original.name ?? original.from })
  const subject = el('input', { name: 'subject', value: original === undefined ? '' : /^re:/i.test(original.subject) ? original.subject : `Re: ${original.subject}` })
  const text = el('textarea', { name: 'body' })
  text.value = original === undefined ? '' : quoted(original)
  const files = el('input', { type: 'file', name: 'attachments', multiple: true })
  const progress = el('ul', { class: 'progress', id: 'send-progress', 'aria-live': 'polite' })
  const sendButton = el('button', { class: 'primary', type: 'submit' }, 'Send')
  const form = el('form', { class: 'compose', on: { submit: event => { event.preventDefault(); void send() } } },
    el('h2', {}, original === undefined ? 'New mail' : 'Reply'),
    el('label', {}, 'To', to, el('datalist', { id: 'contact-names' }, contacts.map(c => el('option', { value: c.name })))),
    el('label', {}, 'Subject', subject),
    el('label', {}, 'Text', text),
    el('label', {}, 'Attachments', files),
    el('div', { class: 'actions' }, sendButton, el('a', { class: 'button', href: original === undefined ? '#/inbox' : `#/mail/${original.id}` }, 'Cancel')),
    progress)
  show(main, form)
  ;(original === undefined ? to : text).focus()
  if (original !== undefined) text.setSelectionRange(0, 0)

  async function send () {
    sendButton.disabled = true
    show(progress)
    const step = (line, cls) => { progress.append(el('li', { class: cls }, line)) }
    try {
      const attachments = await Promise.all([...files.files].map(async file => ({ name: file.name, type: file.type || 'application/octet-stream', data: await base64Of(file) })))
      let pow
      const result = await apiStream('/send', {
        to: to.value.trim(),
        subject: subject.value,
        body: text.value,
        attachments,
        ...(original === undefined ? {} : { inReplyTo: original.id })
      }, p => {
        if (p.stage === 'lookup') step(`Looking up ${shortPeer(p.peer)} on the DHT…`)
        else if (p.stage === 'resolve') step(`To ${who(p.name, p.to)}, by ${p.via}: ${count(p.hosts, 'host')}, difficulty ${p.bits} bits`)
        else if (p.stage === 'pow') {
          pow ??= (step(''), progress.lastChild)
          pow.textContent = `Proof-of-work: ${(p.attempts / 1e6).toFixed(1)} M hashes, ${(p.elapsedMs / 1000).toFixed(1)} s`
        } else if (p.stage === 'deliver') step(`Delivering to ${shortPeer(p.host)}…`)
      })
      step(`Delivered: ${count(result.receipts.length, 'receipt')}.`, 'done')
      toast('Sent.')
      setTimeout(() => { location.hash = original === undefined ? '#/sent' : `#/mail/${original.id}` }, 600)
    } catch (err) {
      step(err.message, 'failed')
      sendButton.disabled = false
    }
  }
}

async function base64Of (file) {
  const bytes = new Uint8Array(await file.arrayBuffer())
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary)
}

/** The people mail came from or went to, newest conversation first. */
async function chatsView () {
  setTab('chats')
  await Promise.all([loadMail(), loadSent()])
  const latest = new Map()
  for (const m of state.mail) latest.set(m.from, Math.max(latest.get(m.from) ?? 0, m.date))
  for (const m of state.sent) latest.set(m.to, Math.max(latest.get(m.to) ?? 0, m.date))
  const names = new Map([...state.mail.map(m => [m.from, m.name]), ...state.sent.map(m => [m.to, m.name])].filter(([, n]) => n !== undefined))
  const peers = [...latest].sort((a, b) => b[1] - a[1])
  if (peers.length === 0) { show(main, el('p', { class: 'empty' }, 'No conversation yet.')); return }
  show(main, el('ul', { class: 'list' }, peers.map(([peer, date]) => el('li', {},
    el('a', { class: 'row', href: `#/chat/${encodeURIComponent(peer)}` },
      el('span', { class: 'who' }, who(names.get(peer), peer)),
      el('span', { class: 'when' }, when(date)),
      el('span', { class: 'subject' }, count(state.mail.filter(m => m.from === peer).length + state.sent.filter(m => m.to === peer).length, 'mail')))))))
}

/** Text typed in a conversation and not sent yet, by peer (kept when one goes to another view). */
const chatDrafts = new Map()
/** The conversation on screen: its form stays as new mail redraws the bubbles above it. */
let chat

/** Mail with one person as a conversation; what is typed at the bottom goes to them at once. */
async function chatView (peer) {
  setTab('chats')
  await Promise.all([loadMail(), loadSent()])
  const received = state.mail.filter(m => m.from === peer)
  const sent = state.sent.filter(m => m.to === peer)
  const details = await Promise.all([
    ...received.map(async m => ({ ...(await api(`/mail/${encodeURIComponent(m.id)}`)).mail, mine: false, unread: m.unread })),
    ...sent.map(async m => ({ ...(await api(`/sent/${encodeURIComponent(m.id)}`)).mail, mine: true }))
  ])
  details.sort((a, b) => a.date - b.date)
  for (const m of details) if (m.unread) void api(`/mail/${encodeURIComponent(m.id)}/seen`, { method: 'POST' }).catch(() => {})
  const name = received[0]?.name ?? sent[0]?.name
  const bubbles = el('div', { class: 'bubbles' },
    details.length === 0 ? el('p', { class: 'empty' }, 'No mail yet.') : null,
    details.map(m => el('div', { class: m.mine ? 'bubble mine' : 'bubble', 'data-entry': m.entry ?? m.env },
      m.subject !== '' && !/^re:/i.test(m.subject) ? el('strong', {}, m.subject, el('br')) : null,
      m.body.replace(/\n+$/, ''),
      el('span', { class: 'meta' }, when(m.date), m.attachments.length > 0 ? ` · ${count(m.attachments.length, 'attachment')}` : ''))))
  const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40
  if (chat?.peer === peer && main.contains(chat.section)) {
    // New mail while the conversation is open: the bubbles change, what is being typed does not.
    chat.bubbles.replaceWith(bubbles)
    Object.assign(chat, { bubbles, details, name })
    if (atBottom) window.scrollTo(0, document.body.scrollHeight)
    return
  }
  const box = el('textarea', { name: 'body', placeholder: `Write to ${who(name, peer)}…`, required: true })
  box.value = chatDrafts.get(peer) ?? ''
  box.addEventListener('input', () => { chatDrafts.set(peer, box.value) })
  const button = el('button', { class: 'primary', type: 'submit' }, 'Send')
  const form = el('form', { on: { submit: event => { event.preventDefault(); void say() } } }, box, button)
  box.addEventListener('keydown', event => { if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) form.requestSubmit() })
  const section = el('section', { class: 'chat', id: 'chat', 'data-peer': peer }, el('h2', {}, who(name, peer)), bubbles, form)
  chat = { peer, section, bubbles, details, name }
  show(main, section)
  box.focus()
  window.scrollTo(0, document.body.scrollHeight)

  async function say () {
    button.disabled = true
    const { details, name } = chat
    const last = [...details].reverse().find(m => !m.mine)
    const lastCard = [...details].reverse().find(m => !m.mine && m.card !== undefined)?.card
    try {
      await apiStream('/send', { to: name ?? lastCard ?? peer, subject: last === undefined ? '' : /^re:/i.test(last.subject) ? last.subject : last.subject === '' ? '' : `Re: ${last.subject}`, body: box.value, ...(last === undefined ? {} : { inReplyTo: last.id }) }, () => {})
      chatDrafts.delete(peer)
      box.value = ''
      await chatView(peer)
    } catch (err) {
      toast(err.message, { error: true })
    } finally {
      button.disabled = false
    }
  }
}

// ── routing and live events ──────────────────────────────────────────────────────────────────

async function route () {
  if (loggedOut) return
  const [path, query = ''] = location.hash.replace(/^#/, '').split('?')
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent)
  try {
    if (parts[0] === 'mail') await inboxView(parts[1])
    else if (parts[0] === 'sent') await sentView(parts[1])
    else if (parts[0] === 'outbox') await outboxView()
    else if (parts[0] === 'compose') await composeView(new URLSearchParams(query))
    else if (parts[0] === 'chats') await chatsView()
    else if (parts[0] === 'chat') await chatView(parts[1])
    else await inboxView()
  } catch (err) {
    if (err.code === 'ERR_UNAUTHORIZED') return
    show(main, el('div', { class: 'notice' }, el('p', {}, err.message), el('a', { href: '#/inbox' }, 'Back to the inbox')))
  }
}

/** What is on screen that `type` changes. */
const affected = {
  mail: ['', 'inbox', 'mail', 'chats', 'chat'],
  seen: ['', 'inbox', 'mail'],
  deleted: ['', 'inbox', 'mail', 'chats', 'chat'],
  sent: ['outbox', 'sent', 'chats', 'chat'],
  outbox: ['outbox'],
  'outbox-gave-up': ['outbox'],
  'outbox-cancelled': ['outbox']
}

function listen () {
  const events = new EventSource('/api/v1/events')
  events.onopen = () => { live.className = 'live on'; live.title = 'Live: new mail shows as it arrives' }
  events.onerror = () => { live.className = 'live off'; live.title = 'Not connected to the daemon: retrying' }
  for (const type of Object.keys(affected)) {
    events.addEventListener(type, async message => {
      const data = JSON.parse(message.data)
      if (type === 'mail') toast(`New mail from ${who(data.name, data.from)}`)
      if (type === 'outbox-gave-up') toast(`A mail was given up: ${data.reason}`, { error: true })
      if (type === 'outbox' || type.startsWith('outbox-') || type === 'sent') void loadOutbox()
      const view = location.hash.replace(/^#\/?/, '').split(/[/?]/)[0]
      if (affected[type].includes(view)) await route()
      else if (type === 'mail' || type === 'seen' || type === 'deleted') await loadMail()
      // For the tests and the bench: which mail was shown last, and how long after the daemon stored it.
      if (type === 'mail') {
        document.body.dataset.lastMail = data.entry
        ;(window.ipmsShownAfterMs ??= []).push(Date.now() - data.time)
      }
    })
  }
  events.addEventListener('stopping', () => { live.className = 'live off'; live.title = 'The daemon is stopping' })
}

async function start () {
  try {
    state.me = await api('/id')
  } catch { return }
  show(document.getElementById('me'), `You are ${state.me.peerId}`)
  void loadOutbox()
  listen()
  window.addEventListener('hashchange', () => { void route() })
  await route()
}

void start()
