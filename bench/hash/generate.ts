import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface Shape {
  images: number;
  filesPerImage: number;
  sharedFiles: number;
}

export const GECKO_SCALE: Shape = { images: 60, filesPerImage: 480, sharedFiles: 1200 };

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@example.com', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@example.com' };

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, env: GIT_ENV, encoding: 'utf8', maxBuffer: 1 << 28 }).trim();
}

/**
 * A taskgraph-layout repository: `images` images in a parent chain of depth 3,
 * each with `filesPerImage` small files and one 1 MiB file, all including the
 * shared folder `python/shared` (incompressible random content, the worst case).
 */
export async function generate(dir: string, shape: Shape = GECKO_SCALE): Promise<void> {
  const kind: string[] = ['tasks:'];
  for (let s = 0; s < shape.sharedFiles; s++) {
    await mkdir(join(dir, 'python/shared', `m${s % 40}`), { recursive: true });
    await writeFile(join(dir, 'python/shared', `m${s % 40}`, `f${s}.py`), randomBytes(600 + ((s * 37) % 900)));
  }
  for (let i = 0; i < shape.images; i++) {
    const name = `image-${String(i).padStart(2, '0')}`;
    const ctx = join(dir, 'taskcluster/docker', name);
    for (let f = 0; f < shape.filesPerImage; f++) {
      await mkdir(join(ctx, `d${f % 12}`), { recursive: true });
      await writeFile(join(ctx, `d${f % 12}`, `file-${f}.txt`), randomBytes(1000 + ((f * 131) % 4000)));
    }
    await writeFile(join(ctx, 'big.bin'), randomBytes(1 << 20));
    const parent = i % 4 === 0 ? null : `image-${String(i - (i % 4)).padStart(2, '0')}`;
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${parent ? '$DOCKER_IMAGE_PARENT' : 'debian:12'}\n# %ARG N\nRUN echo $N\n# %include python/shared\nCOPY . /ctx\n`);
    kind.push(`  ${name}:`, `    symbol: I(${i})`, ...(parent ? [`    parent: ${parent}`] : []), '    args:', `      N: "${i}"`);
  }
  await mkdir(join(dir, 'taskcluster/kinds/docker-image'), { recursive: true });
  await writeFile(join(dir, 'taskcluster/kinds/docker-image/kind.yml'), `${kind.join('\n')}\n`);
  await writeFile(join(dir, 'taskcluster/config.yml'), 'trust-domain: bench\n');
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'generated');
}

export interface ContextFile {
  readonly oid: string;
  readonly path: string;
}

/**
 * The files every image's context hashes at `rev`, image by image, the shared include once per
 * image: what the plain pipelines read. `gitArgs` picks the repository (`-C <dir>` or
 * `--git-dir <dir>`).
 */
export function contextFiles(gitArgs: readonly string[], rev: string): ContextFile[] {
  const run = (...args: string[]) => execFileSync('git', [...gitArgs, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 }).trim();
  const images = run('ls-tree', '--name-only', rev, 'taskcluster/docker/').split('\n');
  return images.flatMap((dir) =>
    run('ls-tree', '-r', rev, `${dir}/`, 'python/shared/').split('\n').map((line) => {
      const [meta, path] = line.split('\t');
      return { oid: meta!.split(' ')[2]!, path: path! };
    }),
  );
}
