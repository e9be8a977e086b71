/** What hashing a context yields, and the algorithms that can: shared by the hasher and the computation it runs. */
export const HASH_ALGORITHMS = ['taskgraph', 'seed-v1'] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

export interface ContextHash {
  readonly contextHash: string;
  /** Files in the context (tar entries, or files for seed-v1). */
  readonly files: number;
  /** Bytes hashed: the tar stream, or the files' contents for seed-v1. */
  readonly bytes: number;
}
