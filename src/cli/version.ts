import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * This package's version, from its package.json: the nearest one above this file, which is
 * two folders up from the sources (src/cli) and three from the compiled code (dist/src/cli).
 */
export function packageVersion(): string {
  for (let dir = import.meta.dirname; dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'image-decider' && pkg.version) return pkg.version;
    } catch {
      // no package.json here: look one folder up
    }
  }
  return 'unknown';
}
