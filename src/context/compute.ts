import type { TreeSource } from '../tree/types.ts';
import type { BlobCache } from './blob-cache.ts';
import type { HashThread } from './hash-thread.ts';
import type { ContextHash, HashAlgorithm } from './hasher.ts';
import { TracingTree } from './memo.ts';
import { type ContextSpec, planContext } from './plan.ts';
import { seedV1Hash } from './seed-v1.ts';
import { writeContextTar } from './write.ts';

export type Trace = [string, string | null][];

export interface ComputeOptions {
  readonly runTask: TreeSource | null;
  readonly maxFiles: number;
  readonly maxBytes: number;
  readonly hashThread: HashThread;
  readonly blobs: BlobCache;
}

/** One context hash, with the trace of object ids it depends on (null when not pinnable). */
export async function computeContextHash(
  tree: TreeSource,
  spec: ContextSpec,
  algorithm: HashAlgorithm,
  options: ComputeOptions,
): Promise<{ result: ContextHash; trace: Trace | null }> {
  const traced = new TracingTree(tree);
  let result: ContextHash;
  if (algorithm === 'seed-v1') {
    const { hash, files, bytes } = await seedV1Hash(traced, spec.contextDir, options.maxFiles);
    result = { contextHash: hash, files, bytes };
  } else {
    const plan = await planContext(traced, spec, options.runTask, { maxFiles: options.maxFiles, contentTree: tree });
    const sink = options.hashThread.sink();
    try {
      const bytes = await writeContextTar(plan, sink, options.maxBytes, options.blobs);
      result = { contextHash: await sink.digest(), files: plan.length, bytes };
    } catch (err) {
      sink.discard();
      throw err;
    }
  }
  return { result, trace: traced.trace() };
}
