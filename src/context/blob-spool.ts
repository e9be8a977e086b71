import { closeSync, ftruncateSync, mkdtempSync, openSync, readSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where one blob's bytes are in the spool file. */
export interface SpoolRange {
  readonly offset: number;
  readonly length: number;
}

/**
 * A spooled blob, with the tar header it was last written under: an included file has the
 * same name and mode in every context that includes it, so its header is made once.
 */
export class SpooledBlob implements SpoolRange {
  header: Buffer | null = null;
  headerName: string | null = null;
  headerMode = 0;

  constructor(
    readonly offset: number,
    readonly length: number,
  ) {}
}

export interface BlobSpoolOptions {
  /** Folder of the spool file (removed from it at once: the file lives while it is open). Default: the system's temporary folder. */
  readonly dir?: string;
  /** Bytes the spool holds at most (default 1 GiB); once full, it is emptied when no hash is using it. */
  readonly maxBytes?: number;
}

export const DEFAULT_SPOOL_BYTES = 1024 ** 3;

/**
 * Included blobs, by object id, in one unlinked file: the files several images `%include` are
 * read from git once and then from the page cache (by the hashing threads themselves), not
 * inflated again for each image. Append-only: a blob is written once, whole, then never
 * changes while any hash holds a lease. Past `maxBytes` no more blobs are added (they are read
 * from git as before), and the spool is emptied at the next lease taken when none is held.
 * A blob being written is `pending`: another context that wants it waits for that one read.
 */
export class BlobSpool {
  /** Lookups answered from the spool. */
  hits = 0;
  /** Bytes written into the spool since it was made. */
  bytesWritten = 0;
  /** Why the spool file could not be made (spooling is then off), if it could not. */
  unusable: Error | null = null;
  readonly maxBytes: number;
  private readonly dir: string;
  private file: number | null = null;
  private readonly ranges = new Map<string, SpooledBlob>();
  private readonly pending = new Map<string, SpoolWrite>();
  private end = 0;
  private full = false;
  private leases = 0;
  private closed = false;
  private idle: (() => void) | null = null;

  constructor(options: BlobSpoolOptions = {}) {
    this.dir = options.dir ?? tmpdir();
    this.maxBytes = options.maxBytes ?? DEFAULT_SPOOL_BYTES;
  }

  /** The spool file's descriptor (valid while a lease is held). */
  get fd(): number {
    if (this.file === null) throw new Error('the spool has no file');
    return this.file;
  }

  /** Bytes of the file in use, blobs and the holes of abandoned writes. */
  get size(): number {
    return this.end;
  }

  get blobs(): number {
    return this.ranges.size;
  }

  /** Where blob `oid` is, if it is here. */
  lookup(oid: string): SpooledBlob | undefined {
    const range = this.ranges.get(oid);
    if (range) this.hits += 1;
    return range;
  }

  /** The write in progress of `oid`, if one is: its `done` settles when it is spooled or given up. */
  pendingFor(oid: string): SpoolWrite | undefined {
    return this.pending.get(oid);
  }

  /**
   * Starts spooling `oid` for `owner`; null when it cannot be (spooled or pending already,
   * the spool full, closed or unusable). The caller must commit or abort it.
   */
  begin(oid: string, owner: object): SpoolWrite | null {
    if (this.closed || this.full || this.ranges.has(oid) || this.pending.has(oid) || !this.open()) return null;
    const write = new SpoolWrite(this, oid, owner);
    this.pending.set(oid, write);
    return write;
  }

  /**
   * Holds the spool's contents still until the returned function is called: take one for as
   * long as any reference into the file may be read. Emptying (when full) happens here, when
   * none is held.
   */
  acquire(): () => void {
    if (this.leases === 0 && this.full && this.pending.size === 0) this.clear();
    this.leases += 1;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.leases -= 1;
      if (this.leases === 0) this.idle?.();
    };
  }

  /** Reads `length` bytes of a spooled range from `at` into `into` (for outputs that take bytes, not references). */
  read(range: SpoolRange, at: number, into: Buffer): void {
    let done = 0;
    while (done < into.length) {
      const n = readSync(this.fd, into, done, into.length - done, range.offset + at + done);
      if (n <= 0) throw new Error(`the spool ended at ${range.offset + at + done}`);
      done += n;
    }
  }

  /** Closes the file once no lease is held; nothing is spooled after. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.leases > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    this.idle = null;
    for (const write of [...this.pending.values()]) write.abort();
    this.ranges.clear();
    if (this.file !== null) closeSync(this.file);
    this.file = null;
  }

  /** @internal */
  reserve(size: number): number | null {
    if (this.closed || this.end + size > this.maxBytes) {
      this.full = true;
      return null;
    }
    const offset = this.end;
    this.end += size;
    return offset;
  }

  /** @internal */
  writeAt(chunk: Buffer, position: number): void {
    let done = 0;
    while (done < chunk.length) done += writeSync(this.fd, chunk, done, chunk.length - done, position + done);
    this.bytesWritten += chunk.length;
  }

  /** @internal A write that could not go on (the disk full, say): spool nothing more until emptied. */
  failed(): void {
    this.full = true;
  }

  /** @internal */
  settle(write: SpoolWrite, range: SpooledBlob | null): void {
    if (this.pending.get(write.oid) !== write) return;
    this.pending.delete(write.oid);
    if (range && !this.closed) this.ranges.set(write.oid, range);
  }

  private open(): boolean {
    if (this.file !== null) return true;
    if (this.unusable) return false;
    try {
      const dir = mkdtempSync(join(this.dir, 'image-decider-spool-'));
      const path = join(dir, 'blobs');
      try {
        this.file = openSync(path, 'w+', 0o600);
      } finally {
        try {
          unlinkSync(path);
        } catch {
          // not made
        }
        rmdirSync(dir);
      }
      return true;
    } catch (err) {
      this.unusable = err as Error;
      return false;
    }
  }

  private clear(): void {
    this.ranges.clear();
    this.end = 0;
    this.full = false;
    if (this.file !== null) ftruncateSync(this.file, 0);
  }
}

/**
 * One blob being copied into the spool as it streams past: `start` with its size, `write`
 * each chunk, `commit` once all arrived (or `abort`). Only a whole blob of the announced size
 * is ever looked up.
 */
export class SpoolWrite {
  /** Settles when the blob is spooled or given up. */
  readonly done: Promise<void>;
  private resolve!: () => void;
  private offset: number | null = null;
  private size = 0;
  private written = 0;
  private over = false;

  constructor(
    private readonly spool: BlobSpool,
    readonly oid: string,
    readonly owner: object,
  ) {
    this.done = new Promise((resolve) => (this.resolve = resolve));
  }

  /** Reserves room for `size` bytes; false (and given up) when the spool has none. */
  start(size: number): boolean {
    if (this.over) return false;
    this.offset = this.spool.reserve(size);
    this.size = size;
    if (this.offset === null) this.abort();
    return !this.over;
  }

  write(chunk: Buffer): void {
    if (this.over || this.offset === null) return;
    if (this.written + chunk.length > this.size) {
      this.abort();
      return;
    }
    try {
      this.spool.writeAt(chunk, this.offset + this.written);
      this.written += chunk.length;
    } catch {
      this.spool.failed();
      this.abort();
    }
  }

  commit(): void {
    if (this.over) return;
    if (this.offset === null || this.written !== this.size) {
      this.abort();
      return;
    }
    this.over = true;
    this.spool.settle(this, new SpooledBlob(this.offset, this.size));
    this.resolve();
  }

  abort(): void {
    if (this.over) return;
    this.over = true;
    this.spool.settle(this, null);
    this.resolve();
  }
}
