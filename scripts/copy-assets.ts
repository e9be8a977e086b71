/**
 * After `tsc -p tsconfig.build.json`: copies what the compiled service reads from beside its
 * own files (the dashboard's assets, the hashing thread's plain-JavaScript worker) from
 * `src/` into `dist/`, at the same relative places.
 */
import { cpSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const SRC = join(import.meta.dirname, '../src');
const DIST = join(import.meta.dirname, '../dist');

for (const entry of readdirSync(SRC, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || entry.name.endsWith('.ts')) continue;
  const from = join(entry.parentPath, entry.name);
  cpSync(from, join(DIST, relative(SRC, from)));
}
