/**
 * The OrbitDB adapter of the inbox port (stores/inbox.ts): the one entry of `src/stores/orbitdb/`
 * for the modules that assemble a node (create-node, home-node, hosting, drop-hosted). Everything
 * that knows OrbitDB's or Helia's internal formats is in this folder; the rest of IPMS sees an
 * inbox through the port only (test/stores/orbitdb/boundary.test.ts keeps it so).
 */
export { openInbox, openInboxOf, orbitLog, type OrbitDBLike } from './open-inbox.ts'
export { InboxAccessController } from './inbox-access-controller.ts'
export { Mailbox } from './mailbox.ts'
export { startOrbitDB, useAccessController, useDatabaseType, HOME_ORBITDB_DIR, type OrbitDB } from './orbitdb-node.ts'
export { useLevelStores, levelStoresOf, nodeStorage } from './block-writer.ts'
export { HOME_INBOXES_DIR, inboxLevel, inboxStore, inboxId, type InboxStore } from './inbox-store.ts'
export { migrateInboxes } from './migrate-inboxes.ts'
export { dropInboxRecords, type DroppedInbox } from './drop-inbox.ts'
