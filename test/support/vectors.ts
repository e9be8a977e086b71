import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, readdir, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';

/** The reference vectors, vendored with the tests (symlinks committed as symlinks). */
export const VECTORS = resolve(import.meta.dirname, '../fixtures/vectors');

export async function readJson<T>(rel: string): Promise<T> {
  return JSON.parse(await readFile(join(VECTORS, rel), 'utf8')) as T;
}

/**
 * Copies a vector tree to `dest` as a checkout made under umask 022 would hold
 * it: files 0644, or 0755 when executable, and the symlinks restored.
 */
export async function materialise(vectorRel: string, dest: string): Promise<string> {
  const src = join(VECTORS, vectorRel);
  const walk = async (dir: string): Promise<void> => {
    const out = join(dest, relative(src, dir));
    await mkdir(out, { recursive: true });
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const from = join(dir, entry.name);
      const to = join(out, entry.name);
      if (entry.isDirectory()) await walk(from);
      else if (entry.isSymbolicLink()) await symlink(await readlink(from), to);
      else {
        await copyFile(from, to);
        await chmod(to, (await stat(from)).mode & 0o111 ? 0o755 : 0o644);
      }
    }
  };
  await walk(src);
  return dest;
}

/** A path written with `\xHH` for each byte that is not UTF-8, as its bytes. */
export function pathBytes(written: string): Buffer {
  const parts = written.split(/(\\x[0-9a-f]{2})/);
  return Buffer.concat(parts.map((part) => (/^\\x[0-9a-f]{2}$/.test(part) ? Buffer.of(Number.parseInt(part.slice(2), 16)) : Buffer.from(part))));
}

/**
 * Writes a vector tree kept as `<vectorRel>/tree.json` under `dest`: `files` (path →
 * content, every file 0644) and `symlinks` (path → target), all in `pathBytes` notation.
 * For trees whose names git cannot commit portably.
 */
export async function writeTree(vectorRel: string, dest: string): Promise<string> {
  const spec = await readJson<{ files: Record<string, string>; symlinks?: Record<string, string> }>(join(vectorRel, 'tree.json'));
  const place = async (written: string): Promise<Buffer> => {
    const path = Buffer.concat([Buffer.from(`${dest}/`), pathBytes(written)]);
    await mkdir(path.subarray(0, path.lastIndexOf('/')), { recursive: true });
    return path;
  };
  for (const [written, content] of Object.entries(spec.files)) {
    const file = await place(written);
    await writeFile(file, content);
    await chmod(file, 0o644);
  }
  for (const [written, target] of Object.entries(spec.symlinks ?? {})) await symlink(pathBytes(target), await place(written));
  return dest;
}

export const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_AUTHOR_DATE: '2026-01-02T03:04:05Z',
  GIT_COMMITTER_DATE: '2026-01-02T03:04:05Z',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' }).trim();
}

/** Makes `dir` a git repository with everything in it committed; returns the commit. */
export function commitAll(dir: string, message = 'snapshot'): string {
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '--allow-empty', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

export function initRepo(dir: string): void {
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'core.fileMode', 'true');
}

/** A git repository at `dest` holding the vector tree `vectorRel`, all of it committed. */
export async function vectorRepo(vectorRel: string, dest: string): Promise<{ dir: string; head: string }> {
  const dir = await materialise(vectorRel, dest);
  initRepo(dir);
  return { dir, head: commitAll(dir) };
}
