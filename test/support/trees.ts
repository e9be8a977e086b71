import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export type FileSpec = string | Buffer | { content: string | Buffer; mode?: number } | { link: string };

/** Writes files (0644 unless a mode is given) and symlinks under `root`. */
export async function writeTree(root: string, files: Readonly<Record<string, FileSpec>>): Promise<string> {
  for (const [path, spec] of Object.entries(files)) {
    const abs = join(root, path);
    await mkdir(dirname(abs), { recursive: true });
    if (typeof spec === 'object' && 'link' in spec) {
      await symlink(spec.link, abs);
      continue;
    }
    const { content, mode = 0o644 } = typeof spec === 'string' || Buffer.isBuffer(spec) ? { content: spec } : spec;
    await writeFile(abs, content);
    await chmod(abs, mode);
  }
  return root;
}

/** A taskgraph-layout repository skeleton with the given kind-file tasks. */
export function taskgraphRepo(kind: string, files: Readonly<Record<string, FileSpec>>): Record<string, FileSpec> {
  return {
    'taskcluster/config.yml': 'trust-domain: test\n',
    'taskcluster/kinds/docker-image/kind.yml': kind,
    ...files,
  };
}
