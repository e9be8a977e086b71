import { printableName } from '../tree/name-bytes.ts';
import type { ContentSink, FileToSend } from '../tree/types.ts';
import { type BlobSpool, SpoolEntry, SpoolWrite } from './blob-spool.ts';
import type { TreePlanEntry } from './plan.ts';
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
/** Tar padding by length (at most 511 zeros). */
const ZEROS = Buffer.alloc(512);
const PADDING = Array.from({ length: 512 }, (_, n) => ZEROS.subarray(0, n));

/**
 * Consecutive entries of a context read from one tree, written through one sink: the files
 * the spool lacks are read in one `sendFiles` call, and the spooled ones are written in their
 * places between them (whole tar entries: header, content and padding, by reference where the
 * sink takes references). A context has up to a hundred thousand small files; a promise and a
 * sink for each cost more than reading them. An included file read here is also copied into
 * the spool, for the other contexts that include it.
 */
export class TarRun implements ContentSink {
  /** The files to read, in archive order. */
  readonly reads: FileToSend[] = [];
  /**
   * Set when the first candidate is being spooled by another reader: the run is empty, and
   * the caller waits for that read (one read of a file per graph) and plans the run again.
   */
  wait: Promise<void> | null = null;
  /** Settles when the run's reads are done (`settle`): what a context waiting for one of its files waits for. */
  readonly finished: Promise<void>;
  private finish!: () => void;
  /** Per entry: its spooled tar entry (written from the spool), the spool write its read feeds, or null (read only). */
  private readonly slots: (SpoolEntry | SpoolWrite | null)[] = [];
  private writing: SpoolWrite | null = null;
  /** True while the entry being read is written into the spool by the sink (the hashing thread). */
  private remote = false;
  private settled = false;
  /** The entry being read, or the next to write (from `start`). */
  private next = 0;
  private expected = 0;
  private seen = 0;

  /**
   * Takes as many of `plan`'s entries from `first` (up to `limit`, all from one tree) as make
   * one run: all of them, or fewer once the spooled entries among them pass the sink's bound,
   * or before one that another reader is spooling now. `length` says how many.
   */
  constructor(
    private readonly tar: TarWriter,
    private readonly plan: readonly TreePlanEntry[],
    private readonly first: number,
    limit: number,
    private readonly spool: BlobSpool | null,
  ) {
    this.finished = new Promise((resolve) => (this.finish = resolve));
    try {
      this.take(limit, tar.takesRefs ? SPOOLED_REF_BYTES : SPOOLED_BYTES);
    } catch (err) {
      this.settle(); // a refused entry: the writes begun for the ones before it are given up
      throw err;
    }
  }

  private take(limit: number, bound: number): void {
    const spool = this.spool;
    let spooledBytes = 0;
    for (let i = this.first; i < limit; i++) {
      if (spooledBytes > bound) break;
      const e = this.plan[i]!;
      refuseSetuid(e.name, e.mode);
      // Only included files are spooled: a context's own files are rarely another's.
      const oid = spool && e.source.included ? e.source.entry.oid : null;
      let write: SpoolWrite | null = null;
      if (oid) {
        const found = spool!.find(oid, e.name, e.mode);
        if (found && !found.pending) {
          spool!.hits += 1;
          spooledBytes += found.length;
          this.slots.push(found);
          continue;
        }
        const owner = found?.pending!.owner;
        if (found && owner !== this) {
          // Wait for the whole run reading it (its other files are spooled by then too), not
          // file by file: one wake-up per run of the reader's, not one per file.
          if (this.slots.length === 0) this.wait = owner instanceof TarRun && !owner.settled ? owner.finished : found.pending!.done;
          break;
        }
        // The same file twice in this run is read twice: it is not spooled before this run ends.
        if (!found) write = spool!.begin(oid, e.name, e.mode, this);
      }
      this.reads.push({ path: e.source.path, entry: e.source.entry });
      this.slots.push(write);
    }
  }

  get length(): number {
    return this.slots.length;
  }

  /** Writes the spooled entries up to the next one to read: all that remain once the reads are done. */
  writeKnown(): void {
    for (let slot = this.slots[this.next]; slot instanceof SpoolEntry; slot = this.slots[this.next]) {
      this.emitSpooled(slot);
      this.next += 1;
      this.tar.checkSize();
    }
  }

  /**
   * Gives up the spool writes that did not finish (a failed read): other readers read those
   * files themselves. The ones the sink is writing are sent on now.
   */
  settle(): void {
    for (const slot of this.slots) if (slot instanceof SpoolWrite) slot.giveUp();
    this.writing = null;
    this.remote = false;
    this.settled = true;
    this.tar.flushSpooling();
    this.finish();
  }

  start(size: number): void {
    // Answers come in request order: the first of this run means the runs before it are written.
    this.writeKnown();
    const entry = this.plan[this.first + this.next]!;
    this.expected = size;
    this.seen = 0;
    const slot = this.slots[this.next];
    this.writing = null;
    this.remote = false;
    if (slot instanceof SpoolWrite && this.tar.spoolsBytes) {
      // The hashing thread writes the entry into the spool as it hashes it.
      const header = slot.startRemote(size);
      if (header) {
        this.writing = slot;
        this.remote = true;
        this.tar.emitSpooling(header, this.spool!.fd, slot.position);
        return;
      }
    } else if (slot instanceof SpoolWrite && slot.start(size)) {
      // A spooled entry's header is the spool's: the same bytes go to both.
      this.writing = slot;
      this.tar.emit(slot.header!);
      return;
    }
    this.tar.header(entry.name, entry.mode, size);
  }

  data(chunk: Buffer): boolean {
    this.seen += chunk.length;
    if (this.remote) {
      const at = this.writing!.place(chunk.length);
      if (at !== null) return this.tar.emitSpooling(chunk, this.spool!.fd, at);
    } else this.writing?.write(chunk);
    return this.tar.emit(chunk);
  }

  drained(): Promise<void> {
    return this.tar.drained();
  }

  end(): void {
    const entry = this.plan[this.first + this.next]!;
    if (this.seen !== this.expected) throw new Error(`${printableName(entry.name)} changed while it was read (${this.seen} bytes, expected ${this.expected})`);
    const write = this.writing;
    if (this.remote) {
      if (write!.padLength > 0) this.tar.emitSpooling(PADDING[write!.padLength]!, this.spool!.fd, write!.padPosition);
      write!.commitRemote((done) => this.tar.whenSpooled(done));
    } else {
      this.tar.pad();
      write?.commit();
    }
    this.writing = null;
    this.remote = false;
    this.next += 1;
    this.tar.checkSize();
    this.writeKnown();
  }

  /** A spooled tar entry: a reference where the sink takes them (the hashing thread reads the file), else read here. */
  private emitSpooled(spooled: SpoolEntry): void {
    const spool = this.spool!;
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
