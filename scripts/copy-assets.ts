/**
 * After `tsc -p tsconfig.build.json` (which mirrors the checkout: `src/` into `dist/src/`,
 * `routes/` into `dist/routes/`, …): copies what the compiled service reads from beside its
 * own files, so it finds them at the same relative places as the sources do: the files in
 * `src/` that are not TypeScript (the dashboard's assets, the hashing thread's plain-JavaScript
 * worker), and the default task template and the bundled example, which
 * `src/` finds one level up (`templates/`, `examples/`).
 */
import { cpSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');

const SRC = join(ROOT, 'src');
for (const entry of readdirSync(SRC, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || entry.name.endsWith('.ts')) continue;
  const from = join(entry.parentPath, entry.name);
  cpSync(from, join(DIST, relative(ROOT, from)));
}
// Symlinks as they are: without verbatimSymlinks a relative link is made absolute (to the
// checkout), and the example's in-tree link would point outside the repository made of it.
for (const folder of ['templates', 'examples']) cpSync(join(ROOT, folder), join(DIST, folder), { recursive: true, verbatimSymlinks: true });
