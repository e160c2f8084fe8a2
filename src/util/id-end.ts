/**
 * Naming a thing by the end of its id, as `ipms list` and `ipms outbox` show them (8 characters).
 * A shorter end is refused rather than matched: a 1-character end (a rank typed past the end of
 * the list, an empty argument) would name whichever mail's hash happens to end with it.
 */

/** Fewest characters of an id's end that name it. */
export const MIN_ID_END = 4

/** The items whose id is `given`, or ends with it when `given` is at least MIN_ID_END long. */
export function matchIdEnd<T> (items: readonly T[], given: string, idOf: (item: T) => string): T[] {
  if (given.length === 0) return []
  return items.filter(item => {
    const id = idOf(item)
    return id === given || (given.length >= MIN_ID_END && id.endsWith(given))
  })
}
