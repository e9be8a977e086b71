/**
 * What PostgreSQL cannot hold: a NUL in text or jsonb ("unsupported Unicode escape sequence")
 * and a UTF-16 surrogate not part of a pair (jsonb; text would silently get U+FFFD). A git
 * error, a remote's message or a name carrying one would make the write that records it fail,
 * and the push with it. (Invalid UTF-8 never reaches here: bytes are decoded with U+FFFD.)
 * Here a NUL is shown as ␀ (U+2400) and a lone surrogate as U+FFFD: the text stays readable.
 */
export function storableText(text: string): string {
  return text.toWellFormed().replaceAll('\0', '\u2400');
}

/**
 * In JSON.stringify's output both appear as escapes (`\u0000`, `\udcff`; it escapes only lone
 * surrogates): the escape, not preceded by an escaped backslash, is replaced.
 */
const UNSTORABLE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(0000|d[89a-f][0-9a-f]{2})/gi;

/** JSON text (from JSON.stringify) that jsonb accepts; see storableText. */
export function storableJsonText(json: string): string {
  return json.replace(UNSTORABLE_ESCAPE, (_, backslashes: string, code: string) => `${backslashes}${code === '0000' ? '\u2400' : '\ufffd'}`);
}

/** `value` as JSON that jsonb accepts, or null for null/undefined. */
export function storableJson(value: unknown): string | null {
  return value === null || value === undefined ? null : storableJsonText(JSON.stringify(value));
}
