/**
 * The node: libp2p + Helia + OrbitDB assembled on an IPMS home (`createNode`), and the home lock
 * that keeps one node per home. Delivery, sync, hosting and GC build on `IpmsNode`.
 */
export {
  createNode,
  DEFAULT_LISTEN,
  DEFAULT_STOP_TIMEOUT_MS,
  HOME_BLOCKS_DIR,
  HOME_DATASTORE_DIR,
  HOME_ORBITDB_DIR,
  type CreateNodeOptions,
  type IpmsNode,
  type IpmsLibp2p,
  type IpmsHelia,
  type IpmsServices
} from './create-node.ts'
export { acquireHomeLock, HOME_LOCK_FILE_NAME, type HomeLock } from './home-lock.ts'
