import { DeciderError } from '../errors.ts';
import { encodeName, hasEscapedBytes, printableName } from '../tree/name-bytes.ts';
import type { ContentSink } from '../tree/types.ts';

/** 2016-01-01T00:00:00Z, taskgraph's fixed mtime. */
export const TAR_MTIME = 1451606400;
const BLOCK = 512;
const RECORD = 10240;
const ZEROS = Buffer.alloc(RECORD + 2 * BLOCK);
/** The padding after a file, by length: made once, not a view per file (a context has 100,000 files). */
const PADS = Array.from({ length: BLOCK }, (_, n) => ZEROS.subarray(0, n));

/** Where the tar bytes go; `write` returning false means wait for `drained`. */
export interface ByteSink {
  write(chunk: Buffer): boolean;
  drained(): Promise<void>;
  /** True when `write` has copied the bytes by the time it returns: the writer may reuse its buffers. */
  readonly copiesWrites?: boolean;
  /**
   * Takes `length` bytes of the file `fd` from `offset` by reference (the hashing thread reads
   * them itself); the file must stay open and those bytes unchanged until the sink is done.
   */
  writeRef?(fd: number, offset: number, length: number): boolean;
}

const LONGLINK = Buffer.from('././@LongLink');

/** GNU base-256, for values that do not fit in octal (files of 8 GiB and more). */
function putNumber(header: Buffer, offset: number, size: number, value: number): void {
  header[offset] = 0x80;
  let rest = BigInt(value);
  for (let i = offset + size - 1; i > offset; i--) {
    header[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
}

/** Writes `value` as zero-padded octal digits and a NUL into `size` bytes; returns the digits' byte sum. */
function writeOctal(h: Buffer, offset: number, size: number, value: number): number {
  let sum = 0;
  let v = value;
  for (let i = offset + size - 2; i >= offset; i--) {
    const digit = 48 + (v % 8);
    h[i] = digit;
    sum += digit;
    v = Math.floor(v / 8);
  }
  h[offset + size - 1] = 0;
  return sum;
}

/**
 * The fields every header shares (uid, gid, magic, devices), laid out once: a header is
 * this template with its name, mode, size, mtime and type filled in. Headers are made per
 * file, so this is hot.
 */
const TEMPLATE = (() => {
  const h = Buffer.alloc(BLOCK);
  writeOctal(h, 108, 8, 0);
  writeOctal(h, 116, 8, 0);
  h.write('ustar  \0', 257, 'latin1');
  writeOctal(h, 329, 8, 0);
  writeOctal(h, 337, 8, 0);
  h.fill(0x20, 148, 156);
  return h;
})();
const TEMPLATE_SUM = TEMPLATE.reduce((sum, byte) => sum + byte, 0);

/**
 * `name` is a string of at most 100 UTF-8 bytes with no escaped byte (see name-bytes.ts),
 * or the encoded name (cut at 100 bytes).
 */
function header(name: string | Buffer, mode: number, size: number, mtime: number, type: number): Buffer {
  const h = Buffer.allocUnsafe(BLOCK);
  TEMPLATE.copy(h);
  return fillHeader(h, name, mode, size, mtime, type);
}

/** Fills in a header laid out from the template (a fresh copy, or one filled before). */
function fillHeader(h: Buffer, name: string | Buffer, mode: number, size: number, mtime: number, type: number): Buffer {
  // Written in place: a Buffer of its own for each name showed in profiles.
  const nameLength = typeof name === 'string' ? h.write(name, 0, 100, 'utf8') : name.copy(h, 0, 0, Math.min(name.length, 100));
  h.fill(0, nameLength, 100);
  let sum = TEMPLATE_SUM;
  for (let i = 0; i < nameLength; i++) sum += h[i]!;
  sum += writeOctal(h, 100, 8, mode & 0o7777);
  if (size < 8 ** 11) sum += writeOctal(h, 124, 12, size);
  else {
    putNumber(h, 124, 12, size);
    for (let i = 124; i < 136; i++) sum += h[i]!;
  }
  sum += writeOctal(h, 136, 12, mtime);
  h[156] = type;
  sum += type;
  // The checksum field counts as eight spaces (the template's sum has them).
  h.fill(0x20, 148, 156);
  writeOctal(h, 148, 7, sum);
  h[155] = 0x20;
  return h;
}

/**
 * The header block(s) for one regular file, GNU flavour, as Python's tarfile writes them:
 * the name encoded as UTF-8 with surrogateescape, so a name that is not UTF-8 is its own
 * bytes again (tarfile's default encoding and errors).
 */
export function fileHeader(name: string, mode: number, size: number): Buffer {
  if (!hasEscapedBytes(name) && Buffer.byteLength(name, 'utf8') <= 100) return header(name, mode, size, TAR_MTIME, 0x30);
  const encoded = encodeName(name);
  if (encoded.length <= 100) return header(encoded, mode, size, TAR_MTIME, 0x30);
  return withLongName(encoded, header(encoded, mode, size, TAR_MTIME, 0x30));
}

function withLongName(encoded: Buffer, main: Buffer): Buffer {
  const longName = Buffer.concat([encoded, Buffer.from([0])]);
  const padded = Buffer.alloc(Math.ceil(longName.length / BLOCK) * BLOCK);
  longName.copy(padded);
  return Buffer.concat([header(LONGLINK, 0, longName.length, 0, 0x4c), padded, main]);
}

/** A context holds no setuid or setgid file (`setuid-file`). */
export function refuseSetuid(name: string, mode: number): void {
  if (mode & 0o6000) throw new DeciderError('setuid-file', `${printableName(name)} has the setuid or setgid bit set`);
}

/**
 * A file that is the same entry in every context holding it (a spooled one): where an observer
 * keeps what it derives from the entry, once for all of them.
 */
export interface SharedEntry {
  note: string | null;
}

/** Told each regular file's size as its entry is written, in archive order (and the shared entry it is, if one). */
export type FileObserver = (size: number, shared?: SharedEntry) => void;

/**
 * Writes a tar stream entry by entry into a ByteSink. Entries must arrive in
 * their final order; each file's content must match the size it announced.
 */
export class TarWriter {
  private written = 0;
  /** One header filled again for each file, where the sink copies what it is given. */
  private readonly scratch: Buffer | null;

  /**
   * @param maxBytes the size `checkSize` allows.
   * @param onFile told each regular file's size as its entry is written, in archive order.
   */
  constructor(
    private readonly out: ByteSink,
    private readonly maxBytes = Infinity,
    private readonly onFile?: FileObserver,
  ) {
    this.scratch = out.copiesWrites ? Buffer.from(TEMPLATE) : null;
  }

  /** Fails with `context-too-large` once more than `maxBytes` have been written. */
  checkSize(): void {
    if (this.written > this.maxBytes) throw new DeciderError('context-too-large', `context is larger than ${this.maxBytes} bytes`);
  }

  get bytesWritten(): number {
    return this.written;
  }

  /** A sink for one file's content; the header goes out when the size is known. */
  file(name: string, mode: number): ContentSink {
    refuseSetuid(name, mode);
    return new TarFileSink(this, name, mode);
  }

  async bytes(name: string, mode: number, data: Buffer): Promise<void> {
    const sink = this.file(name, mode);
    sink.start(data.length);
    if (data.length > 0 && !sink.data(data)) await sink.drained();
    sink.end();
  }

  /** Two zero blocks, then zeros up to a whole 10240-byte record. */
  async finish(): Promise<void> {
    const end = this.written + 2 * BLOCK;
    const total = Math.ceil(end / RECORD) * RECORD;
    if (!this.emit(ZEROS.subarray(0, total - this.written))) await this.out.drained();
  }

  /** @internal The header of a regular file. */
  header(name: string, mode: number, size: number): void {
    // At most 3 UTF-8 bytes per UTF-16 unit: most names need no measuring. A name with an
    // escaped byte takes fileHeader's path (surrogateescape, not Node's UTF-8).
    const fits = (name.length <= 33 || Buffer.byteLength(name, 'utf8') <= 100) && !hasEscapedBytes(name);
    this.onFile?.(size);
    this.emit(this.scratch && fits ? fillHeader(this.scratch, name, mode, size, TAR_MTIME, 0x30) : fileHeader(name, mode, size));
  }

  /** @internal */
  pad(): void {
    const rest = this.written % BLOCK;
    if (rest !== 0) this.emit(PADS[BLOCK - rest]!);
  }

  /** @internal */
  emit(chunk: Buffer): boolean {
    this.written += chunk.length;
    return this.out.write(chunk);
  }

  /** @internal */
  drained(): Promise<void> {
    return this.out.drained();
  }

  /** @internal True when the sink takes bytes of a file by reference (`emitRef`). */
  get takesRefs(): boolean {
    return this.out.writeRef !== undefined;
  }

  /** @internal A whole tar entry written elsewhere (the spool's), of a file of `size` bytes: about to be emitted. */
  entry(size: number, shared: SharedEntry): void {
    this.onFile?.(size, shared);
  }

  /** @internal File bytes by reference, where the sink `takesRefs`. */
  emitRef(fd: number, offset: number, length: number): boolean {
    this.written += length;
    return this.out.writeRef!(fd, offset, length);
  }
}

/** One file's entry: a class, not a closure per file, since there are many files. */
class TarFileSink implements ContentSink {
  private expected = 0;
  private seen = 0;

  constructor(
    private readonly tar: TarWriter,
    private readonly name: string,
    private readonly mode: number,
  ) {}

  start(size: number): void {
    this.expected = size;
    this.tar.header(this.name, this.mode, size);
  }

  data(chunk: Buffer): boolean {
    this.seen += chunk.length;
    return this.tar.emit(chunk);
  }

  drained(): Promise<void> {
    return this.tar.drained();
  }

  end(): void {
    if (this.seen !== this.expected)
      throw new DeciderError('repository-unreadable', `${printableName(this.name)} changed while it was read (${this.seen} bytes, expected ${this.expected})`);
    this.tar.pad();
  }
}
