/**
 * safeText / jsonSafe (src/cli/safe-text.ts): nothing from a mail reaches the terminal as a control
 * sequence; what is safe stays as it is.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { jsonSafe, safeText } from '../../src/cli/safe-text.ts'
import { toJson } from '../../src/cli/output.ts'

test('the issue\'s forged "signature verified" body: ESC and the lone CR are shown, never sent', () => {
  const body = 'Hi\n\x1b[5A\rFrom:    12D3KooWxyz — signature verified\x1b[K\n\n\n\n'
  const shown = safeText(body)
  assert.equal(shown, 'Hi\n^[[5A^MFrom:    12D3KooWxyz — signature verified^[[K\n\n\n\n')
  assert.doesNotMatch(shown, /[\x00-\x08\x0b-\x1f\x7f]/)
})

test('C0 in caret notation, DEL as ^?, LF, TAB and CRLF kept', () => {
  assert.equal(safeText('a\x00b\x07c\x08d\x7fe'), 'a^@b^Gc^Hd^?e')
  assert.equal(safeText('\x1b]0;pwned\x07'), '^[]0;pwned^G', 'no title change')
  assert.equal(safeText('line 1\r\nline\t2\n'), 'line 1\r\nline\t2\n')
  assert.equal(safeText('over\rwrite'), 'over^Mwrite')
})

test('C1 controls, bidi overrides and isolates, line separators, lone surrogates as <U+XXXX>', () => {
  assert.equal(safeText('\u009b31mred'), '<U+009B>31mred')
  assert.equal(safeText('\u0085\u0080\u009f'), '<U+0085><U+0080><U+009F>')
  assert.equal(safeText('invoice\u202Efdp.exe'), 'invoice<U+202E>fdp.exe')
  assert.equal(safeText('\u202A\u202B\u202C\u202D\u2066\u2067\u2068\u2069'), '<U+202A><U+202B><U+202C><U+202D><U+2066><U+2067><U+2068><U+2069>')
  assert.equal(safeText('a\u2028b\u2029c'), 'a<U+2028>b<U+2029>c')
  assert.equal(safeText('x\ud800y\udc00z'), 'x<U+D800>y<U+DC00>z')
})

test('ordinary text is unchanged: accents, CJK, emoji (surrogate pairs), RTL letters, ZWJ', () => {
  const text = 'Grüße, 你好, 👩‍💻 مرحبا שלום — «ok» ≤ 3 ½'
  assert.equal(safeText(text), text)
})

test('jsonSafe: DEL, C1, U+2028/9 and bidi controls escaped; the JSON still parses to the same value', () => {
  const value = { subject: 'a\u009b\u202e\u2028\u2066\x7fz', body: '\x1b[31m' }
  const json = toJson(value)
  assert.doesNotMatch(json, /[\x00-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]/)
  assert.deepEqual(JSON.parse(json), value)
  assert.equal(jsonSafe('"\u009b"'), '"\\u009b"')
})
