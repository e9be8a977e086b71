import { DeciderError } from '../errors.ts';
import { joinPath } from '../tree/paths.ts';
import type { TreeSource } from '../tree/types.ts';

export const DOCKER_DIR = 'taskcluster/docker';

async function readTrimmed(tree: TreeSource, path: string): Promise<string | null> {
  const entry = await tree.lstat(path);
  if (!entry || entry.kind !== 'file') return null;
  return (await tree.readFile(path)).toString('utf8').trim();
}

/**
 * A prebuilt registry image's reference: `<registry>/<name>:<version>`, pinned
 * with `@<HASH>` when the folder has one; the registry comes from the folder's
 * REGISTRY file, else `taskcluster/docker/REGISTRY`.
 */
export async function registryReference(tree: TreeSource, dir: string, name: string): Promise<string> {
  const version = await readTrimmed(tree, joinPath(dir, 'VERSION'));
  const registry = (await readTrimmed(tree, joinPath(dir, 'REGISTRY'))) ?? (await readTrimmed(tree, `${DOCKER_DIR}/REGISTRY`));
  const hash = await readTrimmed(tree, joinPath(dir, 'HASH'));
  if (hash !== null && !/^sha256:[0-9a-f]{64}$/.test(hash)) {
    throw new DeciderError('bad-registry-hash', `${dir}/HASH is not sha256:<64 hex digits>: ${JSON.stringify(hash.slice(0, 80))}`);
  }
  const image = registry ? `${registry}/${name}` : name;
  return `${image}:${version}${hash ? `@${hash}` : ''}`;
}
