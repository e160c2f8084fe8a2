/**
 * The two ways every CLI test of the "same output" kind runs (issue #12): each command opening its
 * home itself, and each command going through the daemon that holds the home (its local API).
 * A test loops over WAYS and starts daemons where `throughDaemon(way)` says so.
 */
export const WAYS = ['no daemon', 'through a daemon'] as const
export type Way = typeof WAYS[number]
export const throughDaemon = (way: Way): boolean => way === 'through a daemon'
