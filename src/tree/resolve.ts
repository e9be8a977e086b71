import { DeciderError } from '../errors.ts';
import { printableName } from './name-bytes.ts';
import { dirname, joinPath, normaliseInside } from './paths.ts';
import type { TreeEntry, TreeSource } from './types.ts';

/** Linux gives up after 40 links; so do we. */
const MAX_LINKS = 40;

export interface Resolved {
  /** The real path, with no symlink in any component. */
  readonly path: string;
  readonly entry: TreeEntry;
}

/**
 * Resolves a normalised repository path, following symlinks in every component
 * as the file system would, but never outside the tree. Returns null when the
 * path itself does not exist; a symlink that leads nowhere is `symlink-dangling`,
 * one that leads out of the tree `symlink-outside-tree`.
 */
export async function resolvePath(tree: TreeSource, path: string): Promise<Resolved | null> {
  let parts = path === '' ? [] : path.split('/');
  let current = '';
  let entry = (await tree.lstat(''))!;
  let links = 0;
  let viaLink: string | null = null;
  while (parts.length > 0) {
    const candidate = joinPath(current, parts[0]!);
    const next = entry.kind === 'dir' ? await tree.lstat(candidate) : null;
    if (!next) {
      if (viaLink) throw new DeciderError('symlink-dangling', `symlink ${printableName(viaLink)} points to a missing file`);
      return null;
    }
    if (next.kind !== 'symlink') {
      current = candidate;
      entry = next;
      parts = parts.slice(1);
      continue;
    }
    links += 1;
    if (links > MAX_LINKS) throw new DeciderError('symlink-dangling', `too many levels of symlinks at ${printableName(candidate)}`);
    const target = await tree.readLink(candidate);
    const inside = target.startsWith('/') ? null : normaliseInside(joinPath(dirname(candidate), target));
    if (inside === null) {
      throw new DeciderError('symlink-outside-tree', `symlink ${printableName(candidate)} points outside the repository (${printableName(target)})`);
    }
    viaLink = candidate;
    parts = [...(inside === '' ? [] : inside.split('/')), ...parts.slice(1)];
    current = '';
    entry = (await tree.lstat(''))!;
  }
  return { path: current, entry };
}

export interface WalkedFile {
  /** Path relative to the walked folder. */
  readonly rel: string;
  /** Real path of the content in the tree (a symlink's target). */
  readonly path: string;
  /** The content's entry: for a symlink, its target's (and so its mode). */
  readonly entry: TreeEntry;
}

/**
 * Every regular file under a (real) folder, as Python's os.walk sees it: symlinks
 * to files are followed, symlinks to folders are not descended, and `__pycache__`
 * folders are skipped when asked.
 */
export async function walkFiles(tree: TreeSource, dir: string, options: { skipPycache: boolean }): Promise<WalkedFile[]> {
  const out: WalkedFile[] = [];
  // Files are taken in a plain loop; only folders and symlinks wait on the tree (a context
  // has thousands of files, and a promise for each showed in profiles).
  const visit = async (real: string, rel: string): Promise<void> => {
    const waits: Promise<void>[] = [];
    for (const child of await tree.list(real)) {
      const childPath = joinPath(real, child.name);
      const childRel = joinPath(rel, child.name);
      if (child.kind === 'file') out.push({ rel: childRel, path: childPath, entry: child });
      else if (child.kind === 'dir') {
        if (!(options.skipPycache && child.name === '__pycache__')) waits.push(visit(childPath, childRel));
      } else if (child.kind === 'symlink') waits.push(followLink(childPath, childRel));
    }
    await Promise.all(waits);
  };
  const followLink = async (path: string, rel: string): Promise<void> => {
    const target = await resolvePath(tree, path);
    if (!target) throw new DeciderError('symlink-dangling', `symlink ${printableName(path)} points to a missing file`);
    if (target.entry.kind === 'file') out.push({ rel, path: target.path, entry: target.entry });
  };
  await visit(dir, '');
  return out;
}
