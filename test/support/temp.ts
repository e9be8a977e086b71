import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One root per test process, removed when the process exits. */
const root = mkdtempSync(join(tmpdir(), 'image-decider-test-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

export function tempDir(prefix = 'd-'): Promise<string> {
  return mkdtemp(join(root, prefix));
}
