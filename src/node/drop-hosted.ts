/**
 * `ipms host rm <owner>`: stop keeping a friend's inbox, and drop everything of it from the home,
 * its grant file, records, entry and envelope blocks and their pins, and nothing of any other
 * inbox (stores/orbitdb/drop-inbox.ts; docs/ARCHITECTURE.md, stores).
 *
 * It works on the home's files with no node running: it takes the home lock, so while a daemon
 * (or any node) runs on the home it fails with HomeInUseError (exit 75) and changes nothing. A
 * daemon API route can call it once its node has closed the inbox (the lock is then the daemon's).
 *
 * Order: the blocks and records first, the grant file last, so that a drop cut by a crash is
 * still listed by `ipms host list` and runs again to its end.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Level } from 'level'
import { inboxAddress } from '../access/inbox-address.ts'
import { InvalidArgumentError, NotFoundError } from '../errors.ts'
import { readIdentityPeerId } from '../identity/keystore.ts'
import { parsePeerId } from '../identity/peer-id.ts'
import { dropInboxRecords, HOME_INBOXES_DIR, inboxLevel, inboxStore, migrateInboxes, type DroppedInbox } from '../stores/orbitdb/index.ts'
import { HOME_BLOCKS_DIR, HOME_DATASTORE_DIR, HOME_ORBITDB_DIR } from './create-node.ts'
import { acquireHomeLock } from './home-lock.ts'
import { hostingDirectory, listKeptGrants } from './hosting.ts'

export interface DroppedHostedInbox extends DroppedInbox {
  owner: string
  /** The inbox address that was dropped. */
  inbox: string
}

/**
 * Drop the inbox this home keeps for `owner` (a peer-id) under a grant. NotFoundError when no
 * grant of that owner is kept here; HomeInUseError while a node runs on the home.
 */
export async function dropHostedInbox (home: string, owner: string): Promise<DroppedHostedInbox> {
  const peerId = parsePeerId(owner).peerId
  if (peerId === await readIdentityPeerId(home).catch(() => undefined)) {
    throw new InvalidArgumentError(`${peerId} is this home's own address: \`ipms host rm\` drops the inboxes kept for friends, not your own`)
  }
  const kept = (await listKeptGrants(home)).find(k => 'owner' in k && k.owner === peerId)
  if (kept === undefined || !('owner' in kept)) {
    throw new NotFoundError(`No inbox of ${peerId} is kept here (no readable grant in ${hostingDirectory(home)}): \`ipms host list\` shows the inboxes this home keeps`)
  }
  const address = inboxAddress(peerId, kept.bits)
  const lock = await acquireHomeLock(home)
  const blocks = new Level<string, Uint8Array>(join(home, HOME_BLOCKS_DIR), { valueEncoding: 'view' })
  const datastore = new Level<string, Uint8Array>(join(home, HOME_DATASTORE_DIR), { valueEncoding: 'view' })
  const inboxDb = inboxLevel(join(home, HOME_INBOXES_DIR))
  const opened = [blocks, datastore, inboxDb]
  try {
    for (const db of opened) await db.open({ createIfMissing: true })
    const inboxes = inboxStore(inboxDb)
    // A home of the former layout, not started since: its records are moved in first.
    await migrateInboxes(join(home, HOME_ORBITDB_DIR), inboxes, { sync: true })
    const dropped = await dropInboxRecords({ blocks, datastore, inboxes }, address)
    await rm(join(hostingDirectory(home), `${peerId}.json`), { force: true })
    return { owner: peerId, inbox: address, ...dropped }
  } finally {
    for (const db of opened) await db.close().catch(() => {})
    await lock.release()
  }
}
