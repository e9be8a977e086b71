import { DeciderError } from '../errors.ts';
import type { ContentSink } from '../tree/types.ts';

/** 2016-01-01T00:00:00Z, taskgraph's fixed mtime. */
export const TAR_MTIME = 1451606400;
const BLOCK = 512;
const RECORD = 10240;
const ZEROS = Buffer.alloc(RECORD + 2 * BLOCK);

/** Where the tar bytes go; `write` returning false means wait for `drained`. */
export interface ByteSink {
  write(chunk: Buffer): boolean;
  drained(): Promise<void>;
}

function octal(value: number, size: number): string {
  return `${value.toString(8).padStart(size - 1, '0')}\0`;
}

function putNumber(header: Buffer, offset: number, size: number, value: number): void {
  if (value < 8 ** (size - 1)) {
    header.write(octal(value, size), offset, 'latin1');
    return;
  }
  // GNU base-256 for values that do not fit in octal (files of 8 GiB and more)
  header[offset] = 0x80;
  let rest = BigInt(value);
  for (let i = offset + size - 1; i > offset; i--) {
    header[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
}

function header(name: Buffer, mode: number, size: number, mtime: number, type: string): Buffer {
  const h = Buffer.alloc(BLOCK);
  name.copy(h, 0, 0, Math.min(name.length, 100));
  h.write(octal(mode & 0o7777, 8), 100, 'latin1');
  h.write(octal(0, 8), 108, 'latin1');
  h.write(octal(0, 8), 116, 'latin1');
  putNumber(h, 124, 12, size);
  h.write(octal(mtime, 12), 136, 'latin1');
  h.write(type, 156, 'latin1');
  h.write('ustar  \0', 257, 'latin1');
  h.write(octal(0, 8), 329, 'latin1');
  h.write(octal(0, 8), 337, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/** The header block(s) for one regular file, GNU flavour, as Python's tarfile writes them. */
export function fileHeader(name: string, mode: number, size: number): Buffer {
  const encoded = Buffer.from(name, 'utf8');
  const main = header(encoded, mode, size, TAR_MTIME, '0');
  if (encoded.length <= 100) return main;
  const longName = Buffer.concat([encoded, Buffer.from([0])]);
  const padded = Buffer.alloc(Math.ceil(longName.length / BLOCK) * BLOCK);
  longName.copy(padded);
  return Buffer.concat([header(Buffer.from('././@LongLink'), 0, longName.length, 0, 'L'), padded, main]);
}

/**
 * Writes a tar stream entry by entry into a ByteSink. Entries must arrive in
 * their final order; each file's content must match the size it announced.
 */
export class TarWriter {
  private written = 0;

  constructor(private readonly out: ByteSink) {}

  get bytesWritten(): number {
    return this.written;
  }

  /** A sink for one file's content; the header goes out when the size is known. */
  file(name: string, mode: number): ContentSink {
    if (mode & 0o6000) throw new DeciderError('setuid-file', `${name} has the setuid or setgid bit set`);
    let expected = 0;
    let seen = 0;
    return {
      start: (size) => {
        expected = size;
        this.emit(fileHeader(name, mode, size));
      },
      data: (chunk) => {
        seen += chunk.length;
        return this.emit(chunk);
      },
      drained: () => this.out.drained(),
      end: () => {
        if (seen !== expected) throw new Error(`${name} changed while it was read (${seen} bytes, expected ${expected})`);
        this.pad();
      },
    };
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

  private pad(): void {
    const rest = this.written % BLOCK;
    if (rest !== 0) this.emit(ZEROS.subarray(0, BLOCK - rest));
  }

  private emit(chunk: Buffer): boolean {
    this.written += chunk.length;
    return this.out.write(chunk);
  }
}
