#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=10
// Runs the compiled CLI (dist/, which `npm ci` builds through the `prepare` script, as does
// `npm run build`) when it is at least as new as every source it was built from; otherwise the
// TypeScript sources through tsx, so that an edited checkout never runs stale code. The check
// stats about 150 files (2 ms); tsx costs about 0.1 s (bench/README.md). The node flags are the service's
// (package.json `start`): a graph's garbage is short-lived, and V8's default young generation
// would hold tens of MB of it for nothing.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..');
const compiled = join(root, 'dist/src/cli/main.js');

/** True when dist/ holds the CLI and no file under src/ or templates/ changed after it was built. */
function compiledIsFresh() {
  let built;
  try {
    built = statSync(compiled).mtimeMs;
  } catch {
    return false;
  }
  for (const folder of ['src', 'templates']) {
    for (const entry of readdirSync(join(root, folder), { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && statSync(join(entry.parentPath, entry.name)).mtimeMs > built) return false;
    }
  }
  return true;
}

let runAsProcess;
if (process.env.IMAGE_DECIDER_SOURCES !== '1' && compiledIsFresh()) {
  ({ runAsProcess } = await import(pathToFileURL(compiled).href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ runAsProcess } = await import('../src/cli/main.ts'));
}
process.exitCode = await runAsProcess(process.argv.slice(2));
