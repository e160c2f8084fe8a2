/**
 * The short form of a peer-id in listings (`12D3KooWP7mk…7jcY`). Its own module, without
 * peer-id.ts' imports (libp2p's crypto, noble), for the CLI's listings through the daemon.
 */
export const shortPeer = (peer: string): string => `${peer.slice(0, 12)}…${peer.slice(-4)}`
