import { DeciderError } from '../errors.ts';
import { compareCodePoints } from '../tree/paths.ts';

/**
 * Small pieces of Python semantics that taskgraph's hashes depend on. Matching
 * them exactly is what makes our index paths equal to taskgraph's.
 */

// str.strip() whitespace: str.isspace() characters (JS trim() differs on these).
const PY_SPACE = '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'gu');

export function pyStrip(text: string): string {
  return text.replace(PY_STRIP, '');
}

/** Characters of Python's `\w` in a str pattern (Unicode letters, digits, underscore). */
const PY_WORD = '[\\p{L}\\p{N}\\p{Mn}\\p{Mc}_]';
const IS_PY_WORD = new RegExp(`^${PY_WORD}$`, 'u');

/**
 * The pattern taskgraph builds as `re.compile(rf"\$${name}\b")`, for a literal
 * name: `\b` after the name holds where the character class changes.
 */
export function argPattern(name: string): RegExp {
  const escaped = name.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  const last = [...name].at(-1) ?? '';
  const boundary = IS_PY_WORD.test(last) ? `(?!${PY_WORD})` : `(?=${PY_WORD})`;
  return new RegExp(`\\$${escaped}${boundary}`, 'gu');
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
};

/**
 * Expands a replacement template as Python's `re.sub` does, for a pattern with
 * no groups: `\\` is one backslash, `\n` a newline, `\g<0>` the whole match;
 * group references and unknown letter escapes are errors, other escapes stay.
 * Returns a function to use as a JS replacer (so `$` is never special).
 */
export function pyReplacement(template: string): (match: string) => string {
  const parts: (string | null)[] = []; // null = the whole match
  let literal = '';
  for (let i = 0; i < template.length; i++) {
    const ch = template[i]!;
    if (ch !== '\\') {
      literal += ch;
      continue;
    }
    const next = template[i + 1];
    if (next === undefined) throw new DeciderError('bad-argument', 'bad escape (end of pattern)');
    i += 1;
    if (next in SIMPLE_ESCAPES) {
      literal += SIMPLE_ESCAPES[next];
    } else if (next === 'g') {
      const m = /^<([^>]*)>/.exec(template.slice(i + 1));
      if (!m || !/^0+$/.test(m[1]!)) throw new DeciderError('bad-argument', `invalid group reference ${m?.[1] ?? ''}`);
      parts.push(literal, null);
      literal = '';
      i += m[0].length;
    } else if (next === '0' || (next >= '1' && next <= '7' && /^[0-7]{3}/.test(template.slice(i)))) {
      const m = /^[0-7]{1,3}/.exec(template.slice(i))!;
      const code = Number.parseInt(m[0], 8);
      if (code > 0o377) throw new DeciderError('bad-argument', `octal escape value \\${m[0]} outside of range 0-0o377`);
      literal += String.fromCharCode(code);
      i += m[0].length - 1;
    } else if (next >= '1' && next <= '9') {
      throw new DeciderError('bad-argument', `invalid group reference ${/^\d{1,2}/.exec(template.slice(i))![0]}`);
    } else if (/[A-Za-z]/.test(next)) {
      throw new DeciderError('bad-argument', `bad escape \\${next}`);
    } else {
      literal += `\\${next}`;
    }
  }
  parts.push(literal);
  if (parts.length === 1) {
    const only = parts[0]!;
    return () => only;
  }
  return (match) => parts.map((p) => p ?? match).join('');
}

/**
 * `json.dumps(value, sort_keys=True, separators=(",", ":"))` for a string map:
 * ASCII only (`\uXXXX` escapes), keys in code-point order.
 */
export function pyJsonDumps(map: Readonly<Record<string, string>>): string {
  // Python sorts str by code point: a lone surrogate (YAML can write one) is its own, not U+FFFD.
  const keys = Object.keys(map).sort(compareCodePoints);
  return `{${keys.map((k) => `${pyJsonString(k)}:${pyJsonString(map[k]!)}`).join(',')}}`;
}

function pyJsonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const ch = text[i]!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}
