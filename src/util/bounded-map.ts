/**
 * A Map that keeps at most `size` keys, forgetting the oldest inserted first: the memory cache in
 * front of an on-disk record (a positive cache: a miss means "ask the disk", never "absent").
 */
export function boundedMap<K, V> (size: number): Map<K, V> {
  const map = new Map<K, V>()
  const set = map.set.bind(map)
  map.set = (key: K, value: V): Map<K, V> => {
    if (!map.has(key) && map.size >= size) map.delete(map.keys().next().value as K)
    return set(key, value)
  }
  return map
}
