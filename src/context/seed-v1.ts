import { createHash } from 'node:crypto';
import { DeciderError } from '../errors.ts';
import { compareCodePoints, joinPath, normaliseInside } from '../tree/paths.ts';
import { walkFiles } from '../tree/resolve.ts';
import type { TreeSource } from '../tree/types.ts';
import { type ContextManifest, DEFAULT_MANIFEST_LIMITS, ManifestCollector, type ManifestLimits } from './manifest.ts';
import { ReadWindow } from './read-window.ts';
import { resolveContextDir } from './plan.ts';

const WINDOW = 128;

/**
 * The original 2016 scheme: one SHA-256 over `<sha256 of file>\t/<path>\n` for
 * every file of the context folder, sorted by path. No tar, includes or args.
 */
export async function seedV1Hash(
  tree: TreeSource,
  contextDir: string,
  maxFiles: number,
  limits: ManifestLimits = DEFAULT_MANIFEST_LIMITS,
): Promise<{ hash: string; files: number; bytes: number; manifest: ContextManifest }> {
  const real = await resolveContextDir(tree, contextDir);
  const base = normaliseInside(contextDir)!;
  const files = (await walkFiles(tree, real, { skipPycache: false })).sort((a, b) => compareCodePoints(a.rel, b.rel));
  if (files.length > maxFiles) {
    throw new DeciderError('context-too-large', `context of ${contextDir} has more than ${maxFiles} files`);
  }
  const outer = createHash('sha256');
  const collected = new ManifestCollector(limits);
  let bytes = 0;
  const window = new ReadWindow(WINDOW);
  try {
    for (const file of files) {
      const inner = createHash('sha256');
      let size = 0;
      await window.push(
        tree.sendFile(file.path, file.entry, {
          start: () => undefined,
          data: (chunk) => {
            bytes += chunk.length;
            size += chunk.length;
            inner.update(chunk);
            return true;
          },
          drained: () => Promise.resolve(),
          end: () => {
            const sha = inner.digest('hex');
            const path = joinPath(base, file.rel);
            outer.update(`${sha}\t/${path}\n`);
            collected.add({ path, mode: file.entry.mode, id: `sha256:${sha}`, size });
          },
        }),
      );
    }
    await window.drain();
  } catch (err) {
    await window.abandon();
    throw err;
  }
  return { hash: outer.digest('hex'), files: files.length, bytes, manifest: collected.manifest('seed-v1', files.length) };
}
