import type { ContentSink } from '../tree/types.ts';

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
 * tens of thousands per graph.
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

  /** Passes a blob's content on to `sink`, keeping a copy once it has all arrived intact. */
  recording(oid: string, sink: ContentSink): ContentSink {
    return new RecordingSink(this, oid, sink);
  }
}

class RecordingSink implements ContentSink {
  private copy: Buffer | null = null;
  private used = 0;

  constructor(
    private readonly cache: BlobCache,
    private readonly oid: string,
    private readonly inner: ContentSink,
  ) {}

  start(size: number): void {
    // A copy of its own: the chunks are views of much larger read buffers.
    if (size <= this.cache.maxBlobBytes) this.copy = Buffer.allocUnsafe(size);
    this.inner.start(size);
  }

  data(chunk: Buffer): boolean {
    if (this.copy) {
      if (this.used + chunk.length > this.copy.length) this.copy = null;
      else this.used += chunk.copy(this.copy, this.used);
    }
    return this.inner.data(chunk);
  }

  drained(): Promise<void> {
    return this.inner.drained();
  }

  end(): void {
    this.inner.end(); // throws when the content did not match its announced size
    if (this.copy && this.used === this.copy.length) this.cache.set(this.oid, this.copy);
  }
}
