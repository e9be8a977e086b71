import { createHash } from 'node:crypto';
import { pipeline, type Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { DirectoryTree } from '../tree/directory-tree.ts';
import { SinkReadable } from '../tree/sink-readable.ts';
import type { TreeSource } from '../tree/types.ts';
import { RUN_TASK_FILES } from './dockerfile.ts';
import { BlobSpool } from './blob-spool.ts';
import { computeContextHash } from './compute.ts';
import type { ContextHash, HashAlgorithm } from './context-hash.ts';
import { DEFAULT_MANIFEST_LIMITS, type ManifestLimits } from './manifest.ts';
import type { EncodedManifest } from './manifest-encoding.ts';
import { HashPool } from './hash-thread.ts';
import type { IncludedFolders } from './included-folder.ts';
import { TraceMemo } from './memo.ts';
import { type ContextSpec, planContext } from './plan.ts';
import { writeContextTar } from './write.ts';

export interface HasherOptions {
  /** Folder holding run-task, fetch-content, robustcheckout.py and hgrc. */
  readonly runTaskDir?: string | null;
  readonly maxContextFiles?: number;
  readonly maxContextBytes?: number;
  /**
   * Where SHA-256 runs: the pool of its builder (the service's, shared by its hashers), closed
   * by that builder. Without one the hasher makes its own, closed by `close()`.
   */
  readonly pool?: HashPool;
  /**
   * The spool of included files, likewise: its builder's (the service's, shared by its hashers:
   * entries are named by blob id, so repositories can share it), closed by that builder; null
   * for none. Without one the hasher makes its own (`spoolDir`, `spoolMaxBytes`).
   */
  readonly spool?: BlobSpool | null;
  /** Folder of the hasher's own spool (default: the system's temporary folder, TMPDIR). */
  readonly spoolDir?: string;
  /** Bytes the hasher's own spool holds at most (default 1 GiB); 0 turns it off. */
  readonly spoolMaxBytes?: number;
  /** The bound of each context's manifest (default 10,000 entries, 1 MiB). */
  readonly manifestLimits?: ManifestLimits;
}

/** A hash, answered from the memo or computed; a computed one comes with its manifest (a memo hit's was given when it was computed). */
export type HashResult = ContextHash & { readonly memoHit: boolean; readonly manifest?: EncodedManifest };

export interface HasherCounters {
  memoHits: number;
  memoMisses: number;
  bytesHashed: number;
  /** Included files whose content came from the spool rather than the tree. */
  spoolHits: number;
  /** Included folders whose every file came from the spool at once (see included-folder.ts). */
  spoolFolders: number;
  /** Bytes written into the spool (each included blob read once while it is kept). */
  spoolBytes: number;
}

/**
 * Computes context hashes and streams context tarballs. Results are memoised by
 * the object ids they were computed from, so an unchanged image at a new
 * revision is answered from tree lookups alone.
 */
export class ContextHasher {
  readonly memo = new TraceMemo<ContextHash>();
  readonly spool: BlobSpool | null;
  private bytesHashed = 0;
  private readonly runTask: TreeSource | null;
  private runTaskKey: Promise<string> | null = null;
  private readonly maxFiles: number;
  private readonly maxBytes: number;
  private readonly pool: HashPool;
  private readonly ownPool: boolean;
  private readonly ownSpool: boolean;
  private readonly manifestLimits: ManifestLimits;

  constructor(options: HasherOptions = {}) {
    this.runTask = options.runTaskDir ? new DirectoryTree(options.runTaskDir) : null;
    this.maxFiles = options.maxContextFiles ?? 100_000;
    this.maxBytes = options.maxContextBytes ?? 4 * 1024 ** 3;
    this.ownPool = !options.pool;
    this.pool = options.pool ?? new HashPool();
    this.ownSpool = options.spool === undefined;
    this.manifestLimits = options.manifestLimits ?? DEFAULT_MANIFEST_LIMITS;
    if (options.spool !== undefined) this.spool = options.spool;
    else this.spool = options.spoolMaxBytes === 0 ? null : new BlobSpool({ dir: options.spoolDir, maxBytes: options.spoolMaxBytes });
  }

  get counters(): HasherCounters {
    return {
      memoHits: this.memo.hits,
      memoMisses: this.memo.misses,
      bytesHashed: this.bytesHashed,
      spoolHits: this.spool?.hits ?? 0,
      spoolFolders: this.spool?.folderHits ?? 0,
      spoolBytes: this.spool?.bytesWritten ?? 0,
    };
  }

  /** Closes what the hasher made itself: its spool (once no hash uses it) and its pool. */
  async close(): Promise<void> {
    if (this.ownSpool) await this.spool?.close();
    if (this.ownPool) await this.pool.close();
  }

  /** `folders`: those of the graph `spec` is an image of, shared by its contexts (a graph builder makes one per build). */
  async hash(tree: TreeSource, spec: ContextSpec, algorithm: HashAlgorithm = 'taskgraph', folders?: IncludedFolders): Promise<HashResult> {
    const key = JSON.stringify([algorithm, spec.contextDir, Object.entries(spec.args).sort(), await this.runTaskFingerprint()]);
    const known = await this.memo.lookup(key, tree);
    if (known) return { ...known, memoHit: true };
    const { result, trace, manifest } = await computeContextHash(tree, spec, algorithm, {
      runTask: this.runTask,
      maxFiles: this.maxFiles,
      maxBytes: this.maxBytes,
      pool: this.pool,
      spool: this.spool,
      manifest: this.manifestLimits,
      folders,
    });
    this.bytesHashed += result.bytes;
    // The memo keeps the hash only: manifests go to the store, once per computation.
    this.memo.store(key, trace, result);
    return { ...result, memoHit: false, manifest };
  }

  /** The uncompressed context tar (taskgraph algorithm): the bytes that are hashed. */
  tarStream(tree: TreeSource, spec: ContextSpec): Readable {
    const out = new SinkReadable();
    const produce = async (): Promise<void> => {
      const plan = await planContext(tree, spec, this.runTask, { maxFiles: this.maxFiles });
      const release = this.spool?.acquire();
      try {
        await writeContextTar(plan, out, { maxBytes: this.maxBytes, spool: this.spool });
      } finally {
        release?.();
      }
      out.finish();
    };
    produce().catch((err: Error) => out.destroy(err));
    return out;
  }

  /** The served tarball: the same tar stream, gzip-compressed. */
  gzipStream(tree: TreeSource, spec: ContextSpec, level = 6): Readable {
    const gzip = createGzip({ level });
    pipeline(this.tarStream(tree, spec), gzip, () => undefined);
    return gzip;
  }

  /** Identifies the run-task files' names, modes and contents: part of every memo key. */
  private runTaskFingerprint(): Promise<string> {
    this.runTaskKey ??= (async () => {
      if (!this.runTask) return 'none';
      const hash = createHash('sha256');
      for (const name of RUN_TASK_FILES) {
        const entry = await this.runTask.lstat(name).catch(() => null);
        hash.update(`${name}\0${entry?.mode ?? 'missing'}\0`);
        if (entry?.kind === 'file') hash.update(await this.runTask.readFile(name));
      }
      return hash.digest('hex');
    })();
    return this.runTaskKey;
  }
}
