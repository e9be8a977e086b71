import { posix } from 'node:path';

/** Joins repository-relative paths ('' is the root). */
export function joinPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/**
 * Normalises a repository-relative path lexically. Returns null when it leaves
 * the root, comparing whole components (so `../root-sibling/x` is outside).
 */
export function normaliseInside(path: string): string | null {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return null;
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out.join('/');
}

/** Python's os.path.join for two `/`-separated parts. */
export function pyJoin(a: string, b: string): string {
  if (b.startsWith('/')) return b;
  if (a === '' || a.endsWith('/')) return a + b;
  return `${a}/${b}`;
}

export function dirname(path: string): string {
  const d = posix.dirname(path);
  return d === '.' ? '' : d;
}

/**
 * Sorts names by Unicode code point, as Python sorts str, not in UTF-16 order. The two
 * orders differ only where a surrogate meets another unit, so only there are code points
 * read (a context sorts 100,000 names: anything per pair showed in the hashing time). A
 * lone surrogate (an escaped byte of a name that is not UTF-8, see name-bytes.ts) is its
 * own code point, U+DC80–U+DCFF, as in Python: after U+D7FF, before U+E000.
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if ((x >= 0xd800 && x <= 0xdfff) || (y >= 0xd800 && y <= 0xdfff)) return compareCodePointsAt(a, b, i);
    return x - y;
  }
  return a.length - b.length;
}

/** Compares the code points the first differing unit `i` belongs to. */
function compareCodePointsAt(a: string, b: string, i: number): number {
  const before = i > 0 ? a.charCodeAt(i - 1) : 0;
  // After a shared high surrogate, the code point starts one unit back (pair, or the lone half).
  if (before >= 0xd800 && before <= 0xdbff) {
    const x = a.codePointAt(i - 1)!;
    const y = b.codePointAt(i - 1)!;
    if (x !== y) return x - y;
  }
  return a.codePointAt(i)! - b.codePointAt(i)!;
}
