import { createHash, type Hash } from 'node:crypto';
import { type ContextManifest, ManifestCollector, type ManifestEntry, type ManifestLimits } from './manifest.ts';
import type { PlanEntry } from './plan.ts';
import type { ByteSink } from './tar.ts';

const BLOCK = 512;
const TYPE_FILE = 0x30;

/** A tar header's size field: octal digits, or GNU base-256 (first byte 0x80). */
function headerSize(h: Buffer): number {
  if (h[124]! & 0x80) {
    let v = 0;
    for (let i = 125; i < 136; i++) v = v * 256 + h[i]!;
    return v;
  }
  let v = 0;
  for (let i = 124; i < 136; i++) {
    const c = h[i]!;
    if (c >= 0x30 && c <= 0x37) v = v * 8 + (c - 0x30);
    else if (c !== 0x20 || v > 0) break;
  }
  return v;
}

type Pending = { -readonly [K in keyof ManifestEntry]: ManifestEntry[K] };

/**
 * Passes a context's tar stream on to the hash's sink and, on the way, notes each file's size
 * from its header (the names, modes and blob ids are the plan's, in the same order): the
 * manifest of the context, with no second read of any file. The processed Dockerfile (no blob
 * id) is hashed with SHA-256 here as it passes; a plain folder's files keep no id. Bytes the
 * sink takes by reference (spooled tar entries) are whole entries of git blobs, their sizes
 * given. Past the manifest's bound it only passes bytes on.
 */
export class ManifestSink implements ByteSink {
  readonly copiesWrites: boolean | undefined;
  readonly writeRef?: (fd: number, offset: number, length: number, fileSize: number) => boolean;
  private readonly header = Buffer.alloc(BLOCK);
  private have = 0;
  /** Bytes of the current entry (content and padding) still to pass. */
  private skip = 0;
  /** Content bytes still to hash, for the entry being hashed. */
  private hashLeft = 0;
  private hash: Hash | null = null;
  private current: Pending | null = null;
  private next = 0;
  private done = false;
  private readonly collected: ManifestCollector;

  constructor(
    private readonly inner: ByteSink,
    private readonly plan: readonly PlanEntry[],
    limits: ManifestLimits,
  ) {
    this.collected = new ManifestCollector(limits);
    this.copiesWrites = inner.copiesWrites;
    if (inner.writeRef) {
      const forward = inner.writeRef.bind(inner);
      // A reference is a whole entry of a spooled git blob, whose size comes with it: nothing to read or hash.
      this.writeRef = (fd, offset, length, fileSize) => {
        if (!this.done) this.note(fileSize, false);
        return forward(fd, offset, length, fileSize);
      };
    }
  }

  write(chunk: Buffer): boolean {
    if (!this.done) this.parse(chunk);
    return this.inner.write(chunk);
  }

  drained(): Promise<void> {
    return this.inner.drained();
  }

  manifest(): ContextManifest {
    return this.collected.manifest('taskgraph', this.plan.length);
  }

  private parse(chunk: Buffer): void {
    let at = 0;
    while (!this.done && at < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        if (this.hash) this.hashContent(chunk.subarray(at, at + Math.min(n, this.hashLeft)));
        this.skip -= n;
        at += n;
        continue;
      }
      const n = Math.min(BLOCK - this.have, chunk.length - at);
      chunk.copy(this.header, this.have, at, at + n);
      this.have += n;
      at += n;
      if (this.have === BLOCK) this.onHeader();
    }
  }

  private onHeader(): void {
    this.have = 0;
    const h = this.header;
    if (h[0] === 0) {
      this.done = true; // the end of the archive (a header's name is never empty)
      return;
    }
    const size = headerSize(h);
    this.skip = Math.ceil(size / BLOCK) * BLOCK;
    if (h[156] !== TYPE_FILE) return; // a GNU long name: the file's own header follows
    this.note(size, true);
  }

  /** The next planned file, of `size` bytes; its content follows in the stream when `inline`. */
  private note(size: number, inline: boolean): void {
    const planned = this.plan[this.next++];
    if (!planned) {
      this.done = true;
      return;
    }
    const source = planned.source;
    const oid = 'tree' in source ? source.entry.oid : null;
    const entry: Pending = { path: planned.name, mode: planned.mode, id: oid, size };
    if ('tree' in source && source.include !== undefined) entry.include = source.include;
    if (!this.collected.add(entry)) {
      this.done = true; // past the bound: the rest only passes through
      return;
    }
    // The processed Dockerfile is hashed as it passes; a plain folder's files are not: that
    // would double the graph's hashing, and a folder's graph (the CLI's) has no stored build
    // to compare with.
    if (!('tree' in source) && inline) {
      this.current = entry;
      this.hash = createHash('sha256');
      this.hashLeft = size;
      if (size === 0) this.finishHash();
    }
  }

  private hashContent(bytes: Buffer): void {
    this.hash!.update(bytes);
    this.hashLeft -= bytes.length;
    if (this.hashLeft === 0) this.finishHash();
  }

  private finishHash(): void {
    this.current!.id = `sha256:${this.hash!.digest('hex')}`;
    this.hash = null;
    this.current = null;
  }
}
