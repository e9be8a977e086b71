export interface BlobCacheOptions {
  /** Total bytes kept. */
  readonly maxBytes?: number;
  /** Larger blobs are not kept: per-file costs are what the cache saves, and big files have few. */
  readonly maxBlobBytes?: number;
}

/**
 * Small git blobs by object id, oldest first out. Images share includes (a folder of a
 * thousand small files in every context is common), and a blob's id names its content, so a
 * blob read for one context serves every other without asking git again. First in, first
 * out rather than least recently used: a lookup costs one map read, and a hasher asks for
 * tens of thousands per graph. Its users keep only included files in it: keeping every
 * small file read let each context's own files push the shared ones out.
 */
export class BlobCache {
  hits = 0;
  private readonly blobs = new Map<string, Buffer>();
  private bytes = 0;
  private readonly maxBytes: number;
  readonly maxBlobBytes: number;

  constructor(options: BlobCacheOptions = {}) {
    this.maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
    this.maxBlobBytes = options.maxBlobBytes ?? 64 * 1024;
  }

  get(oid: string): Buffer | undefined {
    const blob = this.blobs.get(oid);
    if (blob !== undefined) this.hits += 1;
    return blob;
  }

  set(oid: string, blob: Buffer): void {
    if (blob.length > this.maxBlobBytes || this.blobs.has(oid)) return;
    this.blobs.set(oid, blob);
    this.bytes += blob.length;
    for (const [old, kept] of this.blobs) {
      if (this.bytes <= this.maxBytes) break;
      this.blobs.delete(old);
      this.bytes -= kept.length;
    }
  }
}

/**
 * Keeps a copy of each small blob as it streams past, once it has all arrived intact. One
 * serves a reader file after file.
 */
export class BlobRecorder {
  private copy: Buffer | null = null;
  private used = 0;

  constructor(private readonly cache: BlobCache) {}

  start(size: number): void {
    // A copy of its own: the chunks are views of much larger read buffers.
    this.copy = size <= this.cache.maxBlobBytes ? Buffer.allocUnsafe(size) : null;
    this.used = 0;
  }

  data(chunk: Buffer): void {
    if (!this.copy) return;
    if (this.used + chunk.length > this.copy.length) this.copy = null;
    else this.used += chunk.copy(this.copy, this.used);
  }

  end(oid: string): void {
    if (this.copy && this.used === this.copy.length) this.cache.set(oid, this.copy);
    this.copy = null;
  }
}
