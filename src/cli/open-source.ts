import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DeciderError } from '../errors.ts';
import { DirectoryTree } from '../tree/directory-tree.ts';
import { GitRepo } from '../tree/git-repo.ts';
import { GitTree } from '../tree/git-tree.ts';
import type { TreeSource } from '../tree/types.ts';

export interface OpenedSource {
  readonly tree: TreeSource;
  /** Commit time for a revision, now for a folder: what pushdate routes carry. */
  readonly date: Date;
  close(): Promise<void>;
}

/**
 * A git repository at `rev` (HEAD when absent), or a plain folder read from
 * disk when it is not a repository and no revision is asked for.
 */
export async function openSource(path: string, rev: string | undefined): Promise<OpenedSource> {
  const abs = resolve(path);
  const isDir = await stat(abs).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new DeciderError('repository-unreadable', `${path} is not a folder`);
  if (rev === undefined && !(await GitRepo.isRepository(abs))) {
    return { tree: new DirectoryTree(abs), date: new Date(), close: async () => undefined };
  }
  const repo = await GitRepo.open(abs);
  try {
    const commit = await repo.resolve(rev ?? 'HEAD');
    return { tree: new GitTree(repo, commit), date: new Date(commit.time * 1000), close: () => repo.close() };
  } catch (err) {
    await repo.close();
    throw err;
  }
}
