import type { TreeSource } from '../tree/types.ts';
import type { BlobSpool } from './blob-spool.ts';
import type { HashPool } from './hash-thread.ts';
import type { IncludedFolders } from './included-folder.ts';
import type { ContextHash, HashAlgorithm } from './context-hash.ts';
import type { ManifestLimits } from './manifest.ts';
import { type EncodedManifest, encodeManifest } from './manifest-encoding.ts';
import { ManifestNotes } from './manifest-notes.ts';
import { TracingTree } from './memo.ts';
import { type ContextSpec, planContext } from './plan.ts';
import { seedV1Hash } from './seed-v1.ts';
import { writeContextTar } from './write.ts';

export type Trace = [string, string | null][];

export interface ComputeOptions {
  readonly runTask: TreeSource | null;
  readonly maxFiles: number;
  readonly maxBytes: number;
  readonly pool: HashPool;
  readonly spool: BlobSpool | null;
  readonly manifest: ManifestLimits;
  /** The included folders of the graph being built, if one is. */
  readonly folders?: IncludedFolders;
}

/**
 * One context hash, with the trace of object ids it depends on (null when not pinnable) and the
 * manifest of its files, noted as they were hashed.
 */
export async function computeContextHash(
  tree: TreeSource,
  spec: ContextSpec,
  algorithm: HashAlgorithm,
  options: ComputeOptions,
): Promise<{ result: ContextHash; trace: Trace | null; manifest: EncodedManifest }> {
  const traced = new TracingTree(tree);
  let result: ContextHash;
  let manifest: EncodedManifest;
  if (algorithm === 'seed-v1') {
    const { hash, files, bytes, manifest: listed } = await seedV1Hash(traced, spec.contextDir, options.maxFiles, options.manifest);
    result = { contextHash: hash, files, bytes };
    manifest = encodeManifest(listed);
  } else {
    const plan = await planContext(traced, spec, options.runTask, { maxFiles: options.maxFiles, contentTree: tree, folders: options.folders });
    const sink = options.pool.sink();
    const notes = new ManifestNotes(plan, options.manifest);
    // The hashing thread reads spooled blobs by reference until the digest: the spool holds still meanwhile.
    const release = options.spool?.acquire();
    try {
      const bytes = await writeContextTar(plan, sink, { maxBytes: options.maxBytes, spool: options.spool, observer: notes, folders: options.folders });
      result = { contextHash: await sink.digest(), files: plan.length, bytes };
      manifest = notes.manifest();
    } catch (err) {
      await sink.discard();
      throw err;
    } finally {
      release?.();
    }
  }
  return { result, trace: traced.trace(), manifest };
}
