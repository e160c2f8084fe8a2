/**
 * Threads (`ipms list --threads`): mail grouped by conversation, following `inReplyTo` from each
 * mail to the one it answers, as far as the mail kept here goes (received and sent alike). A mail
 * whose parent is not here starts its thread under that parent's id, so the answers to one absent
 * mail still go together. Threads come newest activity first; inside one, mail oldest first, each
 * with its depth (how many answers down from the first mail here).
 */

/** What threading needs of a mail. */
export interface Threadable {
  messageId: string
  inReplyTo?: string
  date: number
}

export interface Thread<T extends Threadable> {
  /** The id of the thread's first mail (or of the absent mail its first answers answer). */
  root: string
  /** Oldest first. */
  mail: Array<{ depth: number, item: T }>
}

/** Group `items` into threads. Never throws; a cycle of inReplyTo (forged) is cut where it closes. */
export function threadsOf<T extends Threadable> (items: readonly T[]): Array<Thread<T>> {
  const byId = new Map<string, T>()
  for (const item of items) if (!byId.has(item.messageId)) byId.set(item.messageId, item)
  /** The chain up from `item` (itself first), stopping at a mail not here or a repeat. */
  const ancestry = (item: T): { root: string, depth: number } => {
    const seen = new Set<string>([item.messageId])
    let current = item
    let depth = 0
    while (current.inReplyTo !== undefined && !seen.has(current.inReplyTo)) {
      const parent = byId.get(current.inReplyTo)
      if (parent === undefined) return { root: current.inReplyTo, depth }
      seen.add(parent.messageId)
      current = parent
      depth++
    }
    return { root: current.messageId, depth }
  }
  const threads = new Map<string, Thread<T>>()
  for (const item of items) {
    const { root, depth } = ancestry(item)
    let thread = threads.get(root)
    if (thread === undefined) threads.set(root, thread = { root, mail: [] })
    thread.mail.push({ depth, item })
  }
  const latest = (t: Thread<T>): number => Math.max(...t.mail.map(m => m.item.date))
  for (const thread of threads.values()) thread.mail.sort((a, b) => a.item.date - b.item.date)
  return [...threads.values()].sort((a, b) => latest(b) - latest(a))
}
