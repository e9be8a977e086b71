import { loadCatalog } from '../catalog/load.ts';
import { processDockerfile } from '../context/dockerfile.ts';
import { joinPath, normaliseInside } from '../tree/paths.ts';
import type { TreeSource } from '../tree/types.ts';

const overlap = (a: string, b: string) => a === '' || b === '' || a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);

/**
 * True when two images' Dockerfiles `# %include` the same files (one path, or one inside the
 * other): what the spool of included blobs is for, which reads each such blob from git once
 * for all of them (src/context/blob-spool.ts). Without it, the spool's thread and second
 * `git cat-file` cost a one-graph process more than they save. Anything unreadable says true:
 * the graph will report it, with the spool as the service has it.
 */
export async function includesShared(tree: TreeSource): Promise<boolean> {
  try {
    const catalog = await loadCatalog(tree);
    const seen: string[] = [];
    for (const image of catalog.images) {
      if (image.kind !== 'build' || image.error) continue;
      const dockerfile = processDockerfile(await tree.readFile(joinPath(image.contextDir, 'Dockerfile')), image.args);
      const includes = new Set<string>();
      for (const include of dockerfile.includes) {
        const path = normaliseInside(include.path);
        // A path leaving the repository: the graph reports it, with the spool as the service has it.
        if (path === null) return true;
        includes.add(path);
      }
      if ([...includes].some((path) => seen.some((other) => overlap(path, other)))) return true;
      seen.push(...includes);
    }
    return false;
  } catch {
    return true;
  }
}
