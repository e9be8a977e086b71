import { closeSync, ftruncateSync, mkdtempSync, openSync, readSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileHeader } from './tar.ts';

const BLOCK = 512;
const ZEROS = Buffer.alloc(BLOCK);

export interface BlobSpoolOptions {
  /** Folder of the spool file (removed from it at once: the file lives while it is open). Default: the system's temporary folder. */
  readonly dir?: string;
  /** Bytes the spool holds at most (default 1 GiB); once full, it is emptied when no hash is using it. */
  readonly maxBytes?: number;
}

export const DEFAULT_SPOOL_BYTES = 1024 ** 3;

/**
 * One included file as tar bytes in the spool: its header (name, mode, size), the blob and the
 * padding. An included file has the same name and mode in every context that includes it, so
 * its whole entry is the same bytes in each, and entries spooled one after the other (a folder,
 * in archive order) are one range of the file: a context's include is a few references.
 */
export class SpoolEntry {
  offset = -1;
  length = 0;
  /** The write in progress; null once the entry is spooled. */
  pending: SpoolWrite | null = null;

  constructor(
    readonly name: string,
    readonly mode: number,
  ) {}
}

/**
 * Included files by blob id, name and mode, as tar entries in one unlinked file: the files
 * several images `%include` are read from git once and then from the page cache (by the
 * hashing threads themselves), not inflated again for each image. Append-only: an entry is
 * written once, whole, and never changes while any lease is held. Past `maxBytes` nothing more
 * is added (those files are read from git as before), and the spool is emptied at the next
 * lease taken while none is held. An entry being written is pending: another context that
 * wants it waits for that one read.
 */
export class BlobSpool {
  /** Lookups answered from the spool. */
  hits = 0;
  /** Bytes of the entries spooled since it was made (each a whole tar entry). */
  bytesWritten = 0;
  /** Why the spool file could not be made (spooling is then off), if it could not. */
  unusable: Error | null = null;
  readonly maxBytes: number;
  private readonly dir: string;
  private file: number | null = null;
  /** Entries by blob id: almost always one (the same blob under another name or mode is another entry). */
  private readonly entries = new Map<string, SpoolEntry[]>();
  private pendingWrites = 0;
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

  /** Bytes of the file in use: entries, and the holes of writes given up. */
  get size(): number {
    return this.end;
  }

  /** Entries spooled (not pending). */
  get count(): number {
    let n = 0;
    for (const list of this.entries.values()) for (const e of list) if (!e.pending) n += 1;
    return n;
  }

  /** The entry of blob `oid` under `name` and `mode`, spooled or pending, if there is one. */
  find(oid: string, name: string, mode: number): SpoolEntry | undefined {
    const list = this.entries.get(oid);
    if (!list) return undefined;
    for (const entry of list) if (entry.name === name && entry.mode === mode) return entry;
    return undefined;
  }

  /**
   * Starts spooling blob `oid` as the entry `name`, `mode`, for `owner`; null when it cannot be
   * (there already, the spool full, closed or unusable). The caller must commit or abort it.
   */
  begin(oid: string, name: string, mode: number, owner: object): SpoolWrite | null {
    if (this.closed || this.full || this.find(oid, name, mode) || !this.open()) return null;
    const entry = new SpoolEntry(name, mode);
    const write = new SpoolWrite(this, oid, entry, owner);
    entry.pending = write;
    const list = this.entries.get(oid);
    if (list) list.push(entry);
    else this.entries.set(oid, [entry]);
    this.pendingWrites += 1;
    return write;
  }

  /**
   * Holds the spool's contents still until the returned function is called: take one for as
   * long as any reference into the file may be read. Emptying (when full) happens here, when
   * none is held.
   */
  acquire(): () => void {
    if (this.leases === 0 && this.full && this.pendingWrites === 0) this.clear();
    this.leases += 1;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.leases -= 1;
      if (this.leases === 0) this.idle?.();
    };
  }

  /** Reads `into.length` bytes of the spool from `position` (for outputs that take bytes, not references). */
  read(position: number, into: Buffer): void {
    let done = 0;
    while (done < into.length) {
      const n = readSync(this.fd, into, done, into.length - done, position + done);
      if (n <= 0) throw new Error(`the spool ended at ${position + done}`);
      done += n;
    }
  }

  /** Closes the file once no lease is held; nothing is spooled after. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.leases > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    this.idle = null;
    for (const list of [...this.entries.values()]) for (const entry of list) entry.pending?.abort();
    this.entries.clear();
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

  /**
   * @internal Writes `chunk` at `position` (synchronously: the page cache takes it at once; on
   * the thread pool it cost more in all, in callbacks and allocations, than it saved here).
   * False when the write failed (the disk full, say): nothing more is spooled until emptied.
   */
  writeAt(chunk: Buffer, position: number): boolean {
    try {
      let done = 0;
      while (done < chunk.length) done += writeSync(this.fd, chunk, done, chunk.length - done, position + done);
      return true;
    } catch {
      this.full = true;
      return false;
    }
  }

  /** @internal */
  settle(write: SpoolWrite, spooled: boolean): void {
    const { entry, oid } = write;
    if (entry.pending !== write) return;
    entry.pending = null;
    this.pendingWrites -= 1;
    if (spooled && !this.closed) {
      this.bytesWritten += entry.length;
      return;
    }
    const list = this.entries.get(oid);
    const at = list?.indexOf(entry) ?? -1;
    if (at >= 0) list!.splice(at, 1);
    if (list?.length === 0) this.entries.delete(oid);
  }

  private open(): boolean {
    if (this.file !== null) return true;
    if (this.unusable) return false;
    try {
      const dir = mkdtempSync(join(this.dir, 'image-decider-spool-'));
      const path = join(dir, 'entries');
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
    this.entries.clear();
    this.end = 0;
    this.full = false;
    if (this.file !== null) ftruncateSync(this.file, 0);
  }
}

/**
 * One included file being copied into the spool as its entry streams past. Either the caller
 * writes it (`start` with the blob's size, which writes the header; `write` each chunk;
 * `commit` once all arrived, which writes the padding) or its sink does, in the hashing
 * thread (`startRemote`, `place` each chunk, `commitRemote` with the sink's word that the
 * bytes are written). `abort` gives up. Only an entry that arrived whole and as announced,
 * and is all written, is ever found.
 */
export class SpoolWrite {
  /** Settles when the entry is spooled or given up. */
  readonly done: Promise<void>;
  /** The entry's tar header, made by `start` or `startRemote`. */
  header: Buffer | null = null;
  private resolve!: () => void;
  private offset: number | null = null;
  private size = 0;
  private written = 0;
  private committing = false;
  private over = false;

  constructor(
    private readonly spool: BlobSpool,
    readonly oid: string,
    readonly entry: SpoolEntry,
    readonly owner: object,
  ) {
    this.done = new Promise((resolve) => (this.resolve = resolve));
  }

  /** Reserves room for the whole entry and writes its header; false (and given up) when the spool has none. */
  start(size: number): boolean {
    if (!this.reserve(size)) return false;
    if (!this.spool.writeAt(this.header!, this.offset!)) this.abort();
    return !this.over;
  }

  write(chunk: Buffer): void {
    const at = this.place(chunk.length);
    if (at !== null && !this.spool.writeAt(chunk, at)) this.abort();
  }

  commit(): void {
    if (this.over || this.committing) return;
    const pad = padding(this.size);
    if (this.offset === null || this.written !== this.size || (pad > 0 && !this.spool.writeAt(ZEROS.subarray(0, pad), this.padPosition))) {
      this.abort();
      return;
    }
    this.finish();
  }

  /** Reserves room for an entry the sink writes: the header to send (at `position`), or null (given up) when there is none. */
  startRemote(size: number): Buffer | null {
    return this.reserve(size) ? this.header : null;
  }

  /** Where the entry starts in the file. */
  get position(): number {
    return this.offset!;
  }

  /** Where the blob's next `length` bytes go; null once given up (more bytes than announced, say). */
  place(length: number): number | null {
    if (this.over || this.committing || this.offset === null) return null;
    if (this.written + length > this.size) {
      this.abort();
      return null;
    }
    const at = this.offset + this.header!.length + this.written;
    this.written += length;
    return at;
  }

  /** Where the padding goes, and how long it is. */
  get padPosition(): number {
    return this.offset! + this.header!.length + this.size;
  }

  get padLength(): number {
    return padding(this.size);
  }

  /** Ends an entry the sink writes: spooled once `whenWritten` says every byte of it is written. */
  commitRemote(whenWritten: (done: (ok: boolean) => void) => void): void {
    if (this.over || this.committing) return;
    if (this.offset === null || this.written !== this.size) {
      this.abort();
      return;
    }
    this.committing = true;
    whenWritten((ok) => (ok ? this.finish() : this.abort()));
  }

  /** Gives up (no-op once spooled or given up). */
  abort(): void {
    if (this.over) return;
    this.over = true;
    this.spool.settle(this, false);
    this.resolve();
  }

  /** Gives up unless committed (a committed entry only waits for its writes). */
  giveUp(): void {
    if (!this.committing) this.abort();
  }

  private reserve(size: number): boolean {
    if (this.over || this.offset !== null) return false;
    const header = fileHeader(this.entry.name, this.entry.mode, size);
    this.offset = this.spool.reserve(header.length + size + padding(size));
    this.size = size;
    this.header = header;
    if (this.offset === null) this.abort();
    return !this.over;
  }

  private finish(): void {
    if (this.over) return;
    this.over = true;
    this.entry.offset = this.offset!;
    this.entry.length = this.header!.length + this.size + padding(this.size);
    this.spool.settle(this, true);
    this.resolve();
  }
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}
