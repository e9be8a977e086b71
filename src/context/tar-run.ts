import type { ContentSink, FileToSend } from '../tree/types.ts';
import type { BlobSpool, SpooledBlob, SpoolWrite } from './blob-spool.ts';
import type { TreePlanEntry } from './plan.ts';
import { printableName } from '../tree/name-bytes.ts';
import { fileHeader, refuseSetuid, type TarWriter } from './tar.ts';

/**
 * Spooled bytes a run writes at most without waiting for its sink, where the sink takes bytes
 * (they are read from the spool here): the most a run writes past its sink's limit.
 */
const SPOOLED_BYTES = 1024 * 1024;
/** The same where the sink takes references (the hashing thread reads them): only numbers are queued. */
const SPOOLED_REF_BYTES = 8 * 1024 * 1024;
/** Spooled bytes are read into buffers of at most this size, for sinks that take bytes. */
const READ_CHUNK = 1024 * 1024;

/**
 * Consecutive entries of a context read from one tree, written through one sink: the files
 * the spool lacks are read in one `sendFiles` call, and the spooled ones are written in their
 * places between them. A context has up to a hundred thousand small files; a promise and a
 * sink for each cost more than reading them. An included file read here is also copied into
 * the spool, for the other contexts that include it.
 */
export class TarRun implements ContentSink {
  /** The files to read, in archive order. */
  readonly reads: FileToSend[] = [];
  /**
   * Set when the first candidate is being spooled by another reader: the run is empty, and
   * the caller waits for that read (one read of a blob per graph) and plans the run again.
   */
  wait: Promise<void> | null = null;
  private readonly known: (SpooledBlob | undefined)[] = [];
  /** Per entry: the spool write its read feeds, if any. */
  private readonly writes: (SpoolWrite | null)[] = [];
  private writing: SpoolWrite | null = null;
  /** The entry being read, or the next to write. */
  private next = 0;
  private expected = 0;
  private seen = 0;

  private readonly entries: readonly TreePlanEntry[] = [];

  /**
   * Takes as many of `candidates` as make one run: all of them, or fewer once the spooled
   * blobs among them pass the sink's bound, or before one that another reader is spooling
   * now. `length` says how many.
   */
  constructor(
    private readonly tar: TarWriter,
    candidates: readonly TreePlanEntry[],
    private readonly spool: BlobSpool | null,
  ) {
    try {
      this.take(candidates, tar.takesRefs ? SPOOLED_REF_BYTES : SPOOLED_BYTES);
    } catch (err) {
      this.settle(); // a refused entry: the writes begun for the ones before it are given up
      throw err;
    }
    this.entries = candidates.slice(0, this.known.length);
  }

  private take(candidates: readonly TreePlanEntry[], bound: number): void {
    const spool = this.spool;
    let spooledBytes = 0;
    for (const e of candidates) {
      if (spooledBytes > bound) break;
      refuseSetuid(e.name, e.mode);
      // Only included files are spooled: a context's own files are rarely another's.
      const oid = spool && e.source.included ? e.source.entry.oid : null;
      let write: SpoolWrite | null = null;
      if (oid) {
        const range = spool!.lookup(oid);
        if (range) {
          spooledBytes += range.length;
          this.known.push(range);
          this.writes.push(null);
          continue;
        }
        const other = spool!.pendingFor(oid);
        if (other && other.owner !== this) {
          if (this.known.length === 0) this.wait = other.done;
          break;
        }
        // The same blob twice in this run is read twice: it is not spooled before this run ends.
        if (!other) write = spool!.begin(oid, this);
      }
      this.reads.push({ path: e.source.path, entry: e.source.entry });
      this.known.push(undefined);
      this.writes.push(write);
    }
  }

  get length(): number {
    return this.entries.length;
  }

  /** Writes the spooled entries up to the next one to read: all that remain once the reads are done. */
  writeKnown(): void {
    for (let range = this.known[this.next]; range !== undefined; range = this.known[this.next]) {
      const entry = this.entries[this.next]!;
      if (range.headerName !== entry.name || range.headerMode !== entry.mode) {
        range.header = fileHeader(entry.name, entry.mode, range.length);
        range.headerName = entry.name;
        range.headerMode = entry.mode;
      }
      this.tar.emit(range.header!);
      if (range.length > 0) this.emitSpooled(range);
      this.tar.pad();
      this.next += 1;
      this.tar.checkSize();
    }
  }

  /** Gives up the spool writes that did not finish (a failed read): other readers read those blobs themselves. */
  settle(): void {
    for (const write of this.writes) write?.abort();
    this.writing = null;
  }

  start(size: number): void {
    // Answers come in request order: the first of this run means the runs before it are written.
    this.writeKnown();
    const entry = this.entries[this.next]!;
    this.expected = size;
    this.seen = 0;
    const write = this.writes[this.next] ?? null;
    this.writing = write && write.start(size) ? write : null;
    this.tar.header(entry.name, entry.mode, size);
  }

  data(chunk: Buffer): boolean {
    this.seen += chunk.length;
    this.writing?.write(chunk);
    return this.tar.emit(chunk);
  }

  drained(): Promise<void> {
    return this.tar.drained();
  }

  end(): void {
    const entry = this.entries[this.next]!;
    if (this.seen !== this.expected) throw new Error(`${printableName(entry.name)} changed while it was read (${this.seen} bytes, expected ${this.expected})`);
    this.tar.pad();
    this.writing?.commit();
    this.writing = null;
    this.next += 1;
    this.tar.checkSize();
    this.writeKnown();
  }

  /** A spooled blob's bytes: a reference where the sink takes them (the hashing thread reads the file), else read here. */
  private emitSpooled(range: SpooledBlob): void {
    const spool = this.spool!;
    if (this.tar.takesRefs) {
      this.tar.emitRef(spool.fd, range.offset, range.length);
      return;
    }
    for (let at = 0; at < range.length; at += READ_CHUNK) {
      const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, range.length - at));
      spool.read(range, at, chunk);
      this.tar.emit(chunk);
    }
  }
}

