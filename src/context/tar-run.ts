import { DeciderError } from '../errors.ts';
import { printableName } from '../tree/name-bytes.ts';
import type { ContentSink, FileToSend } from '../tree/types.ts';
import type { BlobSpool, SpoolEntry } from './blob-spool.ts';
import type { TreePlanEntry } from './plan-entry.ts';
import { refuseSetuid, type TarWriter } from './tar.ts';

/**
 * Spooled bytes a run writes at most without waiting for its sink, where the sink takes bytes
 * (they are read from the spool here): the most a run writes past its sink's limit.
 */
const SPOOLED_BYTES = 1024 * 1024;
/** The same where the sink takes references (the hashing thread reads them): only numbers are queued. */
const SPOOLED_REF_BYTES = 16 * 1024 * 1024;
/** Spooled bytes are read into buffers of at most this size, for sinks that take bytes. */
const READ_CHUNK = 1024 * 1024;

/**
 * Consecutive entries of a context read from one tree, written through one sink: the files
 * the spool lacks are read in one `sendFiles` call, and the spooled ones are written in their
 * places between them (whole tar entries: header, content and padding, by reference where the
 * sink takes references). A context has up to a hundred thousand small files; a promise and a
 * sink for each cost more than reading them.
 */
export class TarRun implements ContentSink {
  /** The files to read, in archive order. */
  readonly reads: FileToSend[] = [];
  /**
   * Set when the first candidate is still being read into the spool: the run is empty, and
   * the caller waits for that read (one read of a file per graph) and plans the run again.
   */
  wait: Promise<void> | null = null;
  /** Per entry: its spooled tar entry (written from the spool), or null (read from the tree). */
  private readonly slots: (SpoolEntry | null)[] = [];
  /** The entry being read, or the next to write (from `first`). */
  private next = 0;
  private expected = 0;
  private seen = 0;

  /**
   * Takes as many of `plan`'s entries from `first` (up to `limit`, all from one tree) as make
   * one run: all of them, or fewer once the spooled entries among them pass the sink's bound,
   * or before one the spool is still reading. `length` says how many.
   */
  constructor(
    private readonly tar: TarWriter,
    private readonly plan: readonly TreePlanEntry[],
    private readonly first: number,
    limit: number,
    private readonly spool: BlobSpool | null,
    /** What the spool held or was reading for each plan entry when the context began (`prefetch`); null without a spool. */
    spooled: readonly (SpoolEntry | undefined)[] | null,
  ) {
    const bound = tar.takesRefs ? SPOOLED_REF_BYTES : SPOOLED_BYTES;
    let spooledBytes = 0;
    for (let i = first; i < limit; i++) {
      if (spooledBytes > bound) break;
      const e = plan[i]!;
      refuseSetuid(e.name, e.mode);
      // An entry being read may have failed since (then it holds no offset, and is read from the tree).
      const known = spooled?.[i];
      const found = known && (known.pending || known.offset >= 0) ? known : undefined;
      if (found?.pending) {
        if (this.slots.length === 0) this.wait = found.pending;
        break;
      }
      if (found) {
        spool!.hits += 1;
        spooledBytes += found.length;
      } else this.reads.push({ path: e.source.path, entry: e.source.entry });
      this.slots.push(found ?? null);
    }
  }

  get length(): number {
    return this.slots.length;
  }

  /** Writes the spooled entries up to the next one to read: all that remain once the reads are done. */
  writeKnown(): void {
    for (let slot = this.slots[this.next]; slot; slot = this.slots[this.next]) {
      this.emitSpooled(slot);
      this.next += 1;
      this.tar.checkSize();
    }
  }

  start(size: number): void {
    // Answers come in request order: the first of this run means the runs before it are written.
    this.writeKnown();
    const entry = this.plan[this.first + this.next]!;
    this.expected = size;
    this.seen = 0;
    this.tar.header(entry.name, entry.mode, size);
  }

  data(chunk: Buffer): boolean {
    this.seen += chunk.length;
    return this.tar.emit(chunk);
  }

  drained(): Promise<void> {
    return this.tar.drained();
  }

  end(): void {
    const entry = this.plan[this.first + this.next]!;
    if (this.seen !== this.expected)
      throw new DeciderError('repository-unreadable', `${printableName(entry.name)} changed while it was read (${this.seen} bytes, expected ${this.expected})`);
    this.tar.pad();
    this.next += 1;
    this.tar.checkSize();
    this.writeKnown();
  }

  /** A spooled tar entry: a reference where the sink takes them (the hashing thread reads the file), else read here. */
  private emitSpooled(spooled: SpoolEntry): void {
    const spool = this.spool!;
    this.tar.entry(spooled.size, spooled);
    if (this.tar.takesRefs) {
      this.tar.emitRef(spool.fd, spooled.offset, spooled.length);
      return;
    }
    for (let at = 0; at < spooled.length; at += READ_CHUNK) {
      const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, spooled.length - at));
      spool.read(spooled.offset + at, chunk);
      this.tar.emit(chunk);
    }
  }
}
