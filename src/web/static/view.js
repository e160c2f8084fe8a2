// Building the page from data the daemon gives, most of it written by other people (subjects,
// bodies, names): every text goes into the DOM as text, never parsed as HTML.

/**
 * An element: `attrs` are attributes (strings; `true` for a bare one; false/undefined left out),
 * `on` its event handlers; children are nodes or text (null and false skipped, arrays flattened).
 */
export function el (tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'on') for (const [type, handler] of Object.entries(value)) node.addEventListener(type, handler)
    else if (value === true) node.setAttribute(name, '')
    else if (value !== false && value !== undefined && value !== null) node.setAttribute(name, String(value))
  }
  append(node, children)
  return node
}

function append (node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    if (Array.isArray(child)) append(node, child)
    else node.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
}

/** Replace what `node` shows. */
export function show (node, ...children) {
  node.replaceChildren()
  append(node, children)
}

/** `12D3KooW…a1b2c3`: a peer-id people can tell apart at a glance. */
export const shortPeer = peer => peer.length > 20 ? `${peer.slice(0, 10)}…${peer.slice(-6)}` : peer

/** Who sent or got a mail: their contact name, else the short peer-id. */
export const who = (name, peer) => name ?? shortPeer(peer)

/** A date for a list: the time today, the day this year, else the date. */
export function when (ms) {
  const date = new Date(ms)
  const now = new Date()
  if (date.toDateString() === now.toDateString()) return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
  if (date.getFullYear() === now.getFullYear()) return date.toLocaleDateString([], { month: 'short', day: 'numeric' })
  return date.toLocaleDateString()
}

/** A full date for a mail's headers. */
export const fullDate = ms => new Date(ms).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })

export const humanBytes = bytes => bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`

/** `1 receipt`, `2 receipts`. */
export const count = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`
