import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../support/temp.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * A process that, once told to go (a line on stdin, so that several try at the same moment),
 * takes the data folder's lock, says what happened, and holds it until stdin ends.
 */
const HOLDER = `
import { once } from 'node:events';
import { lockDataFolder } from './src/store/data-lock.ts';
process.stdout.write('ready\\n');
await once(process.stdin, 'data');
try {
  const lock = await lockDataFolder(process.argv[1]);
  process.stdout.write('locked\\n');
  process.stdin.resume();
  process.stdin.on('end', async () => { await lock.release(); process.exit(0); });
} catch (err) {
  process.stdout.write(err.code === 'conflict' ? 'refused\\n' : 'error ' + err.message + '\\n');
  process.exit(0);
}
`;

function holder(dataDir: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', HOLDER, dataDir], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const lines: ((line: string) => void)[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      lines.shift()?.(out.slice(0, nl));
      out = out.slice(nl + 1);
    }
  });
  // A child that dies answers every question left.
  child.on('exit', (code) => {
    for (const answer of lines.splice(0)) answer(`exited ${code}`);
  });
  const next = () => new Promise<string>((resolve) => lines.push(resolve));
  const ready = next();
  const said = next();
  return { ready, said, go: () => child.stdin.write('go\n'), stop: () => child.stdin.end() };
}

describe('the embedded store’s data-folder lock', () => {
  it('of several processes starting at once on a stale lock, exactly one takes it over', async () => {
    for (let round = 0; round < 3; round++) {
      const dataDir = await tempDir('lock-');
      // A lock left by a process that is gone: pids are below 2^22 on Linux.
      await writeFile(join(dataDir, 'store.lock'), JSON.stringify({ pid: 2 ** 22 + 7, token: 'dead' }));
      const starters = Array.from({ length: 6 }, () => holder(dataDir));
      await Promise.all(starters.map((s) => s.ready));
      for (const s of starters) s.go();
      const outcomes = await Promise.all(starters.map((s) => s.said));
      for (const s of starters) s.stop();
      assert.deepEqual(
        outcomes.filter((o) => o !== 'refused'),
        ['locked'],
        `round ${round}: ${outcomes.join(', ')}`,
      );
    }
  });
});
