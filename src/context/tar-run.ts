import type { ContentSink, FileToSend } from '../tree/types.ts';
import { type BlobCache, BlobRecorder } from './blob-cache.ts';
import type { TreePlanEntry } from './plan.ts';
import { refuseSetuid, type TarWriter } from './tar.ts';

/** Cached bytes a run holds at most (a blob is at most the cache's 64 KiB past it). */
const CACHED_BYTES = 1024 * 1024;

/**
 * Consecutive entries of a context read from one tree, written through one sink: the files
 * the blob cache lacks are read in one `sendFiles` call, and the cached ones are written in
 * their places between them. A context has up to a hundred thousand small files; a promise
 * and a sink for each cost more than reading them.
 */
export class TarRun implements ContentSink {
  /** The files to read, in archive order. */
  readonly reads: FileToSend[] = [];
  private readonly known: (Buffer | undefined)[];
  private readonly recorder: BlobRecorder | null;
  /** The entry being read, or the next to write. */
  private next = 0;
  private expected = 0;
  private seen = 0;

  private readonly entries: readonly TreePlanEntry[];

  /**
   * Takes as many of `candidates` as make one run: all of them, or fewer once the cached
   * blobs among them pass CACHED_BYTES (they are written without waiting for the sink, so
   * that is the most a run writes past its sink's limit). `length` says how many.
   */
  constructor(
    private readonly tar: TarWriter,
    candidates: readonly TreePlanEntry[],
    cache: BlobCache | null,
  ) {
    this.recorder = cache ? new BlobRecorder(cache) : null;
    this.known = [];
    let cachedBytes = 0;
    for (const e of candidates) {
      if (cachedBytes > CACHED_BYTES) break;
      refuseSetuid(e.name, e.mode);
      // Only included files are looked up and kept: a context's own files are rarely another's.
      const oid = e.source.included ? e.source.entry.oid : null;
      const blob = cache && oid ? cache.get(oid) : undefined;
      if (blob) cachedBytes += blob.length;
      else this.reads.push({ path: e.source.path, entry: e.source.entry });
      this.known.push(blob);
    }
    this.entries = candidates.slice(0, this.known.length);
  }

  get length(): number {
    return this.entries.length;
  }

  /** Writes the cached entries up to the next one to read: all that remain once the reads are done. */
  writeKnown(): void {
    for (let blob = this.known[this.next]; blob !== undefined; blob = this.known[this.next]) {
      const entry = this.entries[this.next]!;
      this.tar.header(entry.name, entry.mode, blob.length);
      if (blob.length > 0) this.tar.emit(blob);
      this.tar.pad();
      this.next += 1;
      this.tar.checkSize();
    }
  }

  start(size: number): void {
    // Answers come in request order: the first of this run means the runs before it are written.
    this.writeKnown();
    const entry = this.entries[this.next]!;
    this.expected = size;
    this.seen = 0;
    if (entry.source.included) this.recorder?.start(size);
    this.tar.header(entry.name, entry.mode, size);
  }

  data(chunk: Buffer): boolean {
    this.seen += chunk.length;
    this.recorder?.data(chunk);
    return this.tar.emit(chunk);
  }

  drained(): Promise<void> {
    return this.tar.drained();
  }

  end(): void {
    const entry = this.entries[this.next]!;
    if (this.seen !== this.expected) throw new Error(`${entry.name} changed while it was read (${this.seen} bytes, expected ${this.expected})`);
    this.tar.pad();
    if (entry.source.included && entry.source.entry.oid) this.recorder?.end(entry.source.entry.oid);
    this.next += 1;
    this.tar.checkSize();
    this.writeKnown();
  }
}
