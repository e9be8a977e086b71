import { isUtf8 } from 'node:buffer';

/**
 * File names as Python holds them: bytes decoded as UTF-8 with `surrogateescape`. A byte
 * that is not part of a well-formed UTF-8 sequence becomes the lone surrogate U+DC80–U+DCFF
 * (0x80–0xFF), so every name survives the round trip from git or the file system to the
 * tar byte for byte, as it does in taskgraph (os.walk and tarfile both use surrogateescape),
 * and two names that differ only in such bytes stay two names.
 */

/** Decodes `bytes[start, end)` as Python's `bytes.decode('utf-8', 'surrogateescape')`. */
export function decodeName(bytes: Buffer, start = 0, end = bytes.length): string {
  const slice = start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
  if (isUtf8(slice)) return slice.toString('utf8');
  let out = '';
  let run = 0; // start of the well-formed run not yet copied out
  for (let i = 0; i < slice.length;) {
    const length = sequenceLength(slice, i);
    if (length > 0) {
      i += length;
      continue;
    }
    out += slice.toString('utf8', run, i) + String.fromCharCode(0xdc00 + slice[i]!);
    i += 1;
    run = i;
  }
  return out + slice.toString('utf8', run);
}

/**
 * The length of the well-formed UTF-8 sequence at `i` (Unicode table 3-7, which Python's
 * decoder enforces: no overlong forms, no encoded surrogates, nothing above U+10FFFF), or
 * 0. Escaping just the first byte of an ill-formed sequence and going on from the next is
 * what Python does too: the rest of any maximal ill-formed subpart is continuation bytes,
 * which never start a sequence and so are escaped one by one.
 */
function sequenceLength(b: Buffer, i: number): number {
  const first = b[i]!;
  if (first < 0x80) return 1;
  const cont = (k: number, low = 0x80, high = 0xbf): boolean => i + k < b.length && b[i + k]! >= low && b[i + k]! <= high;
  if (first >= 0xc2 && first <= 0xdf) return cont(1) ? 2 : 0;
  if (first >= 0xe0 && first <= 0xef) {
    const low = first === 0xe0 ? 0xa0 : 0x80;
    const high = first === 0xed ? 0x9f : 0xbf;
    return cont(1, low, high) && cont(2) ? 3 : 0;
  }
  if (first >= 0xf0 && first <= 0xf4) {
    const low = first === 0xf0 ? 0x90 : 0x80;
    const high = first === 0xf4 ? 0x8f : 0xbf;
    return cont(1, low, high) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

const ESCAPED = /[\udc80-\udcff]/;

/** True when the name holds an escaped byte (and so needs `encodeName`, not plain UTF-8). */
export function hasEscapedBytes(name: string): boolean {
  return ESCAPED.test(name);
}

/**
 * Encodes a name as Python's `str.encode('utf-8', 'surrogateescape')`: each U+DC80–U+DCFF
 * not paired with a high surrogate is its byte again. (Decoding never makes other lone
 * surrogates, so a name from a tree has none; Node's UTF-8 would write one as U+FFFD.)
 */
export function encodeName(name: string): Buffer {
  if (!hasEscapedBytes(name)) return Buffer.from(name, 'utf8');
  const parts: Buffer[] = [];
  let run = 0;
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i);
    if (unit < 0xdc80 || unit > 0xdcff) continue;
    const previous = i > 0 ? name.charCodeAt(i - 1) : 0;
    if (previous >= 0xd800 && previous <= 0xdbff) continue; // the low half of a pair
    parts.push(Buffer.from(name.slice(run, i), 'utf8'), Buffer.of(unit - 0xdc00));
    run = i + 1;
  }
  parts.push(Buffer.from(name.slice(run), 'utf8'));
  return Buffer.concat(parts);
}

/**
 * A name for messages: each escaped byte written `\xHH`, as Python's repr writes it. A lone
 * surrogate would reach JSON as `\udcff`, which PostgreSQL's jsonb refuses.
 */
export function printableName(name: string): string {
  return hasEscapedBytes(name) ? name.replace(/[\udc80-\udcff]/g, (unit) => `\\x${(unit.charCodeAt(0) - 0xdc00).toString(16)}`) : name;
}
