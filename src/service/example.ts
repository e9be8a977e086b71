import { execFile } from 'node:child_process';
import { cp, mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const EXAMPLE_SOURCE = resolve(import.meta.dirname, '../../examples/acme');

const GIT_IDENTITY = {
  GIT_AUTHOR_NAME: 'image-decider example',
  GIT_AUTHOR_EMAIL: 'example@example.com',
  GIT_COMMITTER_NAME: 'image-decider example',
  GIT_COMMITTER_EMAIL: 'example@example.com',
};

/** The bundled example made a git repository under the data folder, once; its path. */
export async function prepareExample(dataDir: string): Promise<string> {
  const dest = join(dataDir, 'examples', 'acme');
  if (await stat(join(dest, '.git')).catch(() => null)) return dest;
  await mkdir(dest, { recursive: true });
  await cp(EXAMPLE_SOURCE, dest, { recursive: true, verbatimSymlinks: true });
  const git = (...args: string[]) => execFileAsync('git', ['-C', dest, ...args], { env: { ...process.env, ...GIT_IDENTITY } });
  await git('init', '--quiet', '--initial-branch=main');
  await git('add', '--all');
  await git('commit', '--quiet', '--no-gpg-sign', '--message', 'The acme example repository');
  return dest;
}
