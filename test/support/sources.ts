import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { DirectoryTree } from '../../src/tree/directory-tree.ts';
import { GitRepo } from '../../src/tree/git-repo.ts';
import { GitTree } from '../../src/tree/git-tree.ts';
import type { TreeSource } from '../../src/tree/types.ts';
import { commitAll, initRepo } from './vectors.ts';

export type SourceKind = 'git' | 'directory';
export const SOURCE_KINDS: readonly SourceKind[] = ['git', 'directory'];

const opened: GitRepo[] = [];
// Registered at load, on the file's root test: runs once every test of the file is done.
after(() => Promise.all(opened.splice(0).map((repo) => repo.close())));

/** Opens a repository whose git process is closed when the test file ends. */
export async function openRepo(path: string): Promise<GitRepo> {
  const repo = await GitRepo.open(path);
  opened.push(repo);
  return repo;
}

/**
 * The tree of a checked-out folder, read either from disk or (after committing
 * it to a new repository there) from git objects.
 */
export async function sourceFor(kind: SourceKind, dir: string): Promise<TreeSource> {
  if (kind === 'directory') return new DirectoryTree(dir);
  if (!existsSync(join(dir, '.git'))) {
    initRepo(dir);
    commitAll(dir);
  }
  const repo = await openRepo(dir);
  return GitTree.open(repo, 'HEAD');
}
