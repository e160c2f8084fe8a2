/**
 * A JSON object as JSON.parse gives one: not null, not an array. For values decoded from JSON
 * only; dag-cbor values need fields.ts's isPlainMap, which also refuses bytes and CIDs (and loads
 * multiformats, which a CLI run through the daemon does without).
 */
export function isJsonObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
