/**
 * Untrusted text made safe for a terminal (README, "Reading mail safely"): everything `ipms`
 * prints for people passes through here, because most of it comes from a mail or a peer (bodies,
 * subjects, attachment and contact names, a host's refusal reason quoted in an error).
 *
 * A sender must not be able to move the cursor, rewrite a line (a forged "signature verified"),
 * recolour the terminal, set its title, or reorder what follows. So, as mutt does, controls are
 * shown, never sent:
 * - C0 controls other than LF and TAB, and DEL, in caret notation: ESC is `^[`, NUL `^@`, DEL
 *   `^?`; CR is kept only as part of a CRLF line end (a lone CR would return to the line's start);
 * - C1 controls (U+0080–U+009F: some terminals take U+009B as CSI), the bidi embeddings, overrides
 *   and isolates (U+202A–U+202E, U+2066–U+2069: they reorder the text after them, "Trojan
 *   Source"), the line and paragraph separators (U+2028, U+2029) and lone surrogates as `<U+XXXX>`.
 *
 * `jsonSafe` does the same for JSON text: JSON.stringify escapes C0 but leaves DEL, C1, U+2028/9
 * and the bidi controls raw; they are escaped as `\uXXXX`, which parses back to the same string.
 * Neither function ever throws.
 */

/** Controls shown in caret notation (C0 but LF and TAB; DEL), and a CR not followed by LF. */
const CARET = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)/
/** Characters shown as `<U+XXXX>`: C1, line/paragraph separators, bidi controls, lone surrogates. */
const CODE_POINT = /[\x80-\x9f\u2028-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
const UNSAFE = new RegExp(`${CARET.source}|${CODE_POINT.source}`, 'g')
/** What JSON.stringify leaves raw that a terminal may act on (it already escapes C0 and lone surrogates). */
const JSON_UNSAFE = /[\x7f-\x9f\u2028-\u202e\u2066-\u2069]/g

const hex = (unit: number): string => unit.toString(16).toUpperCase().padStart(4, '0')

/** `text` with every control and reordering character shown visibly (`^[`, `<U+202E>`). */
export function safeText (text: string): string {
  return String(text).replace(UNSAFE, c => {
    const unit = c.charCodeAt(0)
    if (unit < 0x20) return `^${String.fromCharCode(unit + 0x40)}`
    if (unit === 0x7f) return '^?'
    return `<U+${hex(unit)}>`
  })
}

/** JSON text (from JSON.stringify) with DEL, C1, U+2028/9 and bidi controls as `\uXXXX` escapes. */
export function jsonSafe (json: string): string {
  return json.replace(JSON_UNSAFE, c => `\\u${hex(c.charCodeAt(0)).toLowerCase()}`)
}
