import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { OFFLINE_ENV } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
/** The tests' environment without the switch to the sources (a run of this suite may set it). */
const ENV = Object.fromEntries(Object.entries(OFFLINE_ENV).filter(([k]) => k !== 'IMAGE_DECIDER_SOURCES'));

/** A checkout with the real bin/image-decider.js, whose compiled and source CLIs each say which they are. */
async function checkout(): Promise<{ dir: string; touch(path: string, seconds: number): Promise<void> }> {
  const dir = await tempDir();
  for (const folder of ['bin', 'dist/src/cli', 'src/cli', 'templates']) await mkdir(join(dir, folder), { recursive: true });
  await copyFile(join(ROOT, 'bin/image-decider.js'), join(dir, 'bin/image-decider.js'));
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  await writeFile(join(dir, 'package.json'), '{"type":"module"}\n');
  const cli = (which: string) => `export async function runAsProcess(argv) { process.stdout.write('${which} ' + argv.join(' ')); return 3; }\n`;
  await writeFile(join(dir, 'dist/src/cli/main.js'), cli('compiled'));
  await writeFile(join(dir, 'src/cli/main.ts'), cli('sources'));
  await writeFile(join(dir, 'templates/docker-image.yml'), 'x: 1\n');
  const touch = async (path: string, seconds: number) => utimes(join(dir, path), seconds, seconds);
  // Built after its sources.
  await touch('src/cli/main.ts', 1_000);
  await touch('templates/docker-image.yml', 1_000);
  await touch('dist/src/cli/main.js', 2_000);
  return { dir, touch };
}

async function cli(dir: string, env: NodeJS.ProcessEnv = ENV): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [join(dir, 'bin/image-decider.js'), 'graph', '--json'], { env });
    return { code: 0, stdout };
  } catch (err) {
    const { code, stdout } = err as { code: number; stdout: string };
    return { code, stdout };
  }
}

describe('bin/image-decider.js', () => {
  it('runs dist/ while it is newer than every file under src/ and templates/, else the sources', async () => {
    const { dir, touch } = await checkout();
    assert.deepEqual(await cli(dir), { code: 3, stdout: 'compiled graph --json' });
    await touch('src/cli/main.ts', 3_000); // a source edited after the build
    assert.deepEqual(await cli(dir), { code: 3, stdout: 'sources graph --json' });
    await touch('src/cli/main.ts', 1_000);
    await touch('templates/docker-image.yml', 3_000); // the template dist/ holds a copy of
    assert.deepEqual(await cli(dir), { code: 3, stdout: 'sources graph --json' });
    await touch('templates/docker-image.yml', 1_000);
    assert.deepEqual(await cli(dir, { ...ENV, IMAGE_DECIDER_SOURCES: '1' }), { code: 3, stdout: 'sources graph --json' });
  });

  it('runs the sources when nothing is built', async () => {
    const { dir } = await checkout();
    await run('rm', ['-r', join(dir, 'dist')]);
    assert.deepEqual(await cli(dir), { code: 3, stdout: 'sources graph --json' });
  });
});
