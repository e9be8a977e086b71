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

/** One big shared folder of the heavy-include profile: `files` files of `minBytes`–`maxBytes`. */
export interface SharedFolder {
  readonly path: string;
  readonly files: number;
  readonly minBytes: number;
  readonly maxBytes: number;
}

/** Three big folders, each included by 18 of the 60 images (image i includes folder k when i % 10 is in k's set). */
export const HEAVY_FOLDERS: readonly SharedFolder[] = [
  { path: 'python/small', files: 4000, minBytes: 500, maxBytes: 20_000 },
  { path: 'python/medium', files: 2500, minBytes: 500, maxBytes: 30_000 },
  { path: 'third_party/large', files: 1500, minBytes: 20_000, maxBytes: 200_000 },
];
const HEAVY_INCLUDES = [
  [0, 1, 2],
  [3, 4, 5],
  [6, 7, 2],
];

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
    const ctx = await writeImage(dir, i, ['python/shared'], kind);
    for (let f = 0; f < shape.filesPerImage; f++) {
      await mkdir(join(ctx, `d${f % 12}`), { recursive: true });
      await writeFile(join(ctx, `d${f % 12}`, `file-${f}.txt`), randomBytes(1000 + ((f * 131) % 4000)));
    }
    await writeFile(join(ctx, 'big.bin'), randomBytes(1 << 20));
  }
  await commitRepository(dir, kind);
}

/**
 * Image `i` of a generated graph (a root every 4 images, the next three its children): its
 * Dockerfile, including `includes`, and its entry appended to `kind`. Returns its folder.
 */
async function writeImage(dir: string, i: number, includes: readonly string[], kind: string[]): Promise<string> {
  const name = `image-${String(i).padStart(2, '0')}`;
  const ctx = join(dir, 'taskcluster/docker', name);
  await mkdir(ctx, { recursive: true });
  const parent = i % 4 === 0 ? null : `image-${String(i - (i % 4)).padStart(2, '0')}`;
  const lines = includes.map((path) => `# %include ${path}\n`).join('');
  await writeFile(join(ctx, 'Dockerfile'), `FROM ${parent ? '$DOCKER_IMAGE_PARENT' : 'debian:12'}\n# %ARG N\nRUN echo $N\n${lines}COPY . /ctx\n`);
  kind.push(`  ${name}:`, `    symbol: I(${i})`, ...(parent ? [`    parent: ${parent}`] : []), '    args:', `      N: "${i}"`);
  return ctx;
}

/** Writes the kind file and config, and commits the whole tree. */
async function commitRepository(dir: string, kind: readonly string[]): Promise<void> {
  await mkdir(join(dir, 'taskcluster/kinds/docker-image'), { recursive: true });
  await writeFile(join(dir, 'taskcluster/kinds/docker-image/kind.yml'), `${kind.join('\n')}\n`);
  await writeFile(join(dir, 'taskcluster/config.yml'), 'trust-domain: bench\n');
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'generated');
}

/**
 * The heavy-include profile: 60 images in parent chains of depth 4, each with 60 files of its
 * own (1–10 KB), and three big shared folders (HEAVY_FOLDERS), each `%include`d by 18
 * images (some images include two, some none): about 265 MB of distinct blobs, 4.5 GB of
 * context tar in all. Sizes are spread evenly over each folder's range (deterministic).
 */
export async function generateHeavy(dir: string): Promise<void> {
  const kind: string[] = ['tasks:'];
  for (const folder of HEAVY_FOLDERS) {
    for (let s = 0; s < folder.files; s++) {
      const size = folder.minBytes + Math.floor(((s * 7919) % folder.files) * ((folder.maxBytes - folder.minBytes) / folder.files));
      await mkdir(join(dir, folder.path, `m${s % 50}`), { recursive: true });
      await writeFile(join(dir, folder.path, `m${s % 50}`, `f${s}.py`), randomBytes(size));
    }
  }
  for (let i = 0; i < 60; i++) {
    const includes = HEAVY_FOLDERS.filter((_, k) => HEAVY_INCLUDES[k]!.includes(i % 10)).map((f) => f.path);
    const ctx = await writeImage(dir, i, includes, kind);
    for (let f = 0; f < 60; f++) {
      await mkdir(join(ctx, `d${f % 6}`), { recursive: true });
      await writeFile(join(ctx, `d${f % 6}`, `file-${f}.txt`), randomBytes(1000 + ((f * 131) % 9000)));
    }
  }
  await commitRepository(dir, kind);
}

export interface ContextFile {
  readonly oid: string;
  readonly path: string;
  readonly size: number;
}

/**
 * The files every image's context hashes at `rev`, image by image, the shared include once per
 * image: what the plain pipelines read. `gitArgs` picks the repository (`-C <dir>` or
 * `--git-dir <dir>`).
 */
export function contextFiles(gitArgs: readonly string[], rev: string): ContextFile[] {
  const run = (...args: string[]) => execFileSync('git', [...gitArgs, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 }).trim();
  const images = run('ls-tree', '--name-only', rev, 'taskcluster/docker/').split('\n');
  return images.flatMap((dir) => {
    // The includes as the Dockerfile names them (the generated ones are plain folder paths).
    const dockerfile = run('cat-file', 'blob', `${rev}:${dir}/Dockerfile`);
    const includes = [...dockerfile.matchAll(/^# %include (.+)$/gm)].map((m) => `${m[1]}/`);
    return run('ls-tree', '-r', '-l', rev, `${dir}/`, ...includes)
      .split('\n')
      .map((line) => {
        const [meta, path] = line.split('\t');
        const [, , oid, size] = meta!.trim().split(/\s+/);
        return { oid: oid!, path: path!, size: Number(size) };
      });
  });
}
