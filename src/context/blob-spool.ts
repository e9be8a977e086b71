import { closeSync, ftruncateSync, mkdtempSync, openSync, readSync, rmdirSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DeciderError } from '../errors.ts';
import type { ReadStats } from '../tree/types.ts';
import { fileHeader, type SharedEntry } from './tar.ts';

export interface BlobSpoolOptions {
  /** Folder of the spool file (removed from it at once: the file lives while it is open). Default: the system's temporary folder. */
  readonly dir?: string;
  /** Bytes the spool holds at most (default 1 GiB); once full, it is emptied when no hash is using it. */
  readonly maxBytes?: number;
  /** How long the reading thread outlives its last read (default 10 s): most pushes read nothing. */
  readonly idleMs?: number;
}

export const DEFAULT_SPOOL_BYTES = 1024 ** 3;

/** Where the spool reads from: a repository, and the counters its reads are added to. */
export interface SpoolSource {
  readonly gitDir: string;
  readonly stats: ReadStats;
}

/** An included file to spool: its blob and its name and mode in the archive. */
export interface SpoolRequest {
  readonly oid: string;
  readonly name: string;
  readonly mode: number;
}

/**
 * One included file as tar bytes in the spool: its header (name, mode, size), the blob and the
 * padding. An included file has the same name and mode in every context that includes it, so
 * its whole entry is the same bytes in each, and entries spooled one after the other (a folder,
 * in archive order) are one range of the file: a context's include is a few references.
 */
export class SpoolEntry implements SharedEntry {
  offset = -1;
  /** What a manifest notes of the entry (the same in every context: its name, mode, blob id and size). */
  note: string | null = null;
  length = 0;
  /** The file's own bytes (the entry's content, without header and padding). */
  size = 0;
  /** Settles once the entry is spooled or given up; null once spooled. */
  pending: Promise<void> | null;
  /** @internal */
  settle: (() => void) | null = null;

  constructor(
    readonly name: string,
    readonly mode: number,
  ) {
    this.pending = new Promise((resolve) => (this.settle = resolve));
  }
}

/**
 * Included files by blob id, name and mode, as tar entries in one unlinked file: the files
 * several images `%include` are read from git once, by a thread of the spool's own (its own
 * `git cat-file`), and then from the page cache by the hashing threads themselves, not inflated
 * again for each image. A context asks for all its included files at its start (`prefetch`),
 * so git streams them while it plans and hashes; another context that wants one of them waits
 * for that one read. Append-only: an entry is written once, whole, and never changes while
 * any lease is held. Past `maxBytes` nothing more is added (those files are read from git as
 * before), and the spool is emptied at the next lease taken while none is held.
 */
export class BlobSpool {
  /** Lookups answered from the spool. */
  hits = 0;
  /** Included folders a context took from the spool whole (a few references for all their files). */
  folderHits = 0;
  /** Bytes of the entries spooled since it was made (each a whole tar entry). */
  bytesWritten = 0;
  /** Counts the times the spool was emptied: an offset found before is valid only in its generation. */
  generation = 0;
  /** Why the spool file could not be made (spooling is then off), if it could not. */
  unusable: Error | null = null;
  readonly maxBytes: number;
  private readonly dir: string;
  private file: number | null = null;
  /** Entries by blob id: almost always one (the same blob under another name or mode is another entry). */
  private readonly entries = new Map<string, SpoolEntry[]>();
  /** Where the free room starts: shared with the reading thread, which reserves from it. */
  private readonly end = new BigInt64Array(new SharedArrayBuffer(8));
  private reader: Worker | null = null;
  private readonly reading = new Map<number, { oid: string; entry: SpoolEntry; stats: ReadStats }>();
  private nextId = 0;
  private full = false;
  private leases = 0;
  private closed = false;
  private idle: (() => void) | null = null;
  private readonly idleMs: number;
  private retireTimer: NodeJS.Timeout | null = null;

  constructor(options: BlobSpoolOptions = {}) {
    this.dir = options.dir ?? tmpdir();
    this.maxBytes = options.maxBytes ?? DEFAULT_SPOOL_BYTES;
    this.idleMs = options.idleMs ?? 10_000;
  }

  /** True while the reading thread runs (it is stopped when idle and by `close`; the entries stay). */
  get readerRunning(): boolean {
    return this.reader !== null;
  }

  /** The spool file's descriptor (valid while a lease is held). */
  get fd(): number {
    if (this.file === null) throw new DeciderError('internal-error', 'the spool has no file');
    return this.file;
  }

  /** Bytes of the file in use: entries, and room reserved for ones that failed. */
  get size(): number {
    return Number(Atomics.load(this.end, 0));
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
   * Starts reading into the spool those of `files` (blobs of `source`'s repository) that it
   * neither has nor is reading; nothing when it is full, closed or unusable. Each becomes
   * pending at once, and is spooled or dropped once read (then its reader reads it itself:
   * missing from git, say, or past the bound, where the files asked for with it are read
   * twice). The caller holds a lease.
   */
  prefetch(source: SpoolSource, files: Iterable<SpoolRequest>): void {
    if (this.closed || this.full || !this.open()) return;
    const ids: number[] = [];
    const oids: string[] = [];
    const templates: Buffer[] = [];
    for (const { oid, name, mode } of files) {
      if (this.find(oid, name, mode)) continue;
      const entry = new SpoolEntry(name, mode);
      const list = this.entries.get(oid);
      if (list) list.push(entry);
      else this.entries.set(oid, [entry]);
      const id = this.nextId++;
      this.reading.set(id, { oid, entry, stats: source.stats });
      ids.push(id);
      oids.push(oid);
      // The header for size 0: the reading thread writes the size in once git says it.
      templates.push(fileHeader(name, mode, 0));
    }
    if (ids.length === 0) return;
    if (this.retireTimer) clearTimeout(this.retireTimer);
    this.retireTimer = null;
    const reader = this.startReader();
    if (this.reading.size === ids.length) reader.ref();
    reader.postMessage({ op: 'read', gitDir: source.gitDir, ids, oids, templates });
  }

  /**
   * Holds the spool's contents still until the returned function is called: take one for as
   * long as any reference into the file may be read. Emptying (when full) happens here, when
   * none is held.
   */
  acquire(): () => void {
    if (this.leases === 0 && this.full && this.reading.size === 0) this.clear();
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
      if (n <= 0) throw new DeciderError('internal-error', `the spool ended at ${position + done}`);
      done += n;
    }
  }

  /** Stops the reading thread and closes the file once no lease is held; nothing is spooled after. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.leases > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    this.idle = null;
    if (this.retireTimer) clearTimeout(this.retireTimer);
    const reader = this.reader;
    this.reader = null;
    await reader?.terminate();
    for (const id of [...this.reading.keys()]) this.answer(id, -1, 0, -1);
    this.entries.clear();
    if (this.file !== null) closeSync(this.file);
    this.file = null;
  }

  /**
   * An idle thread is stopped (its isolate is about 12 MiB); the spool's entries stay, and the
   * next read starts another in a few milliseconds.
   */
  private retireLater(reader: Worker): void {
    if (this.retireTimer) clearTimeout(this.retireTimer);
    this.retireTimer = setTimeout(() => {
      this.retireTimer = null;
      if (this.reader !== reader || this.reading.size > 0) return;
      this.reader = null;
      void reader.terminate();
    }, this.idleMs).unref();
  }

  private startReader(): Worker {
    if (this.reader) return this.reader;
    // No execArgv: the thread is plain JavaScript, and a `--import tsx` it would inherit would load tsx in it.
    const reader = new Worker(new URL('./spool-reader.js', import.meta.url), {
      execArgv: [],
      workerData: { fd: this.fd, end: this.end.buffer, maxBytes: this.maxBytes, dir: this.dir },
    });
    reader.unref(); // referenced only while it reads: an idle spool must not hold the process
    reader.on('message', (m: { op: 'done'; items: number[] }) => {
      for (let i = 0; i < m.items.length; i += 4) this.answer(m.items[i]!, m.items[i + 1]!, m.items[i + 2]!, m.items[i + 3]!);
      if (this.reading.size === 0) {
        reader.unref();
        this.retireLater(reader);
      }
    });
    const gone = () => {
      if (this.reader !== reader) return; // retired or closed: what is read now is another thread's
      this.reader = null;
      for (const id of [...this.reading.keys()]) this.answer(id, -1, 0, -1);
    };
    reader.on('error', gone);
    reader.on('exit', gone);
    this.reader = reader;
    return reader;
  }

  /**
   * The reading thread's word on one file: spooled at `offset` (`length` bytes), or not (-1;
   * length -1: the spool is full); `size` bytes of it were read from git (-1: none).
   */
  private answer(id: number, offset: number, length: number, size: number): void {
    const read = this.reading.get(id);
    if (!read) return;
    this.reading.delete(id);
    const { oid, entry, stats } = read;
    if (size >= 0) {
      stats.filesRead += 1;
      stats.blobBytesRead += size;
    }
    if (offset >= 0 && !this.closed) {
      entry.offset = offset;
      entry.length = length;
      entry.size = size;
      this.bytesWritten += length;
    } else {
      if (length < 0) this.full = true;
      const list = this.entries.get(oid);
      const at = list?.indexOf(entry) ?? -1;
      if (at >= 0) list!.splice(at, 1);
      if (list?.length === 0) this.entries.delete(oid);
    }
    entry.pending = null;
    entry.settle?.();
    entry.settle = null;
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
    this.generation += 1;
    this.entries.clear();
    Atomics.store(this.end, 0, 0n);
    this.full = false;
    if (this.file !== null) ftruncateSync(this.file, 0);
  }
}
