import { closeSync, createReadStream, fstatSync, lstatSync, openSync, readSync, readdirSync } from 'node:fs';
import { readFile, readlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { decodeName, encodeName } from './name-bytes.ts';
import type { ContentSink, EntryKind, ReadStats, TreeEntry, TreeSource } from './types.ts';
import { newReadStats } from './types.ts';

const SLASH = Buffer.from('/');

/** Files up to this size are read whole; larger ones stream. */
const WHOLE_LIMIT = 1 << 20;
/** Synchronous reads give the event loop a turn this often. */
const YIELD_EVERY = 256;

function kindOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): EntryKind | null {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return null;
}

/**
 * A checked-out folder; modes come from `stat`, so the checkout's umask matters. Names are
 * bytes to the file system: they are read with `encoding: 'buffer'` and decoded with
 * surrogateescape (name-bytes.ts), and every path goes back to the system as those bytes.
 * Metadata and small files are read synchronously: a context is tens of thousands of small
 * files, and a thread-pool round trip per system call costs several times the call itself.
 * It serves the CLI and tests (the service reads git), and still yields every few hundred files.
 */
export class DirectoryTree implements TreeSource {
  readonly revision = null;
  readonly stats: ReadStats = newReadStats();
  readonly description: string;
  /** Serialises sendFile deliveries so that they happen in call order. */
  private tail: Promise<unknown> = Promise.resolve();
  private sent = 0;

  private readonly rootBytes: Buffer;

  constructor(readonly root: string) {
    this.description = root;
    this.rootBytes = Buffer.from(root === '' ? '.' : root, 'utf8');
  }

  async lstat(path: string): Promise<TreeEntry | null> {
    return this.lstatNow(path);
  }

  private lstatNow(path: string): TreeEntry | null {
    try {
      const st = lstatSync(this.abs(path));
      const kind = kindOf(st);
      if (!kind) return null; // sockets, fifos, devices are not repository files
      return { name: path.slice(path.lastIndexOf('/') + 1), kind, mode: st.mode & 0o7777, oid: null };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw err;
    }
  }

  async list(dir: string): Promise<TreeEntry[]> {
    const entries: TreeEntry[] = [];
    for (const raw of readdirSync(this.abs(dir), { encoding: 'buffer' })) {
      const name = decodeName(raw);
      const entry = this.lstatNow(dir === '' ? name : `${dir}/${name}`);
      if (entry) entries.push(entry);
    }
    return entries;
  }

  async readFile(path: string): Promise<Buffer> {
    const data = await readFile(this.abs(path));
    this.count(data.length);
    return data;
  }

  readStream(path: string): Readable {
    const stream = createReadStream(this.abs(path));
    stream.on('data', (chunk) => this.count(chunk.length, 0));
    stream.on('open', () => (this.stats.filesRead += 1));
    return stream;
  }

  async readLink(path: string): Promise<string> {
    return decodeName(await readlink(this.abs(path), { encoding: 'buffer' }));
  }

  objectId(): Promise<string | null> {
    return Promise.resolve(null);
  }

  sendFile(path: string, _entry: TreeEntry, sink: ContentSink): Promise<void> {
    // Deliveries happen in call order.
    const run = this.tail.then(() => this.deliver(path, sink));
    this.tail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {}

  private async deliver(path: string, sink: ContentSink): Promise<void> {
    if (++this.sent % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
    const fd = openSync(this.abs(path), 'r');
    const { size } = fstatSync(fd);
    sink.start(size);
    if (size <= WHOLE_LIMIT) {
      const data = readWhole(fd, size);
      this.count(data.length);
      if (data.length > 0 && !sink.data(data)) await sink.drained();
    } else {
      this.stats.filesRead += 1;
      // The stream owns the descriptor from here and closes it.
      for await (const chunk of createReadStream('', { fd, autoClose: true })) {
        this.count((chunk as Buffer).length, 0);
        if (!sink.data(chunk as Buffer)) await sink.drained();
      }
    }
    sink.end();
  }

  /** The path's bytes on the file system (paths are normalised: a plain join will do). */
  private abs(path: string): Buffer {
    return path === '' ? this.rootBytes : Buffer.concat([this.rootBytes, SLASH, encodeName(path)]);
  }

  private count(bytes: number, files = 1): void {
    this.stats.blobBytesRead += bytes;
    this.stats.filesRead += files;
  }
}

/** Reads and closes a small file's descriptor. */
function readWhole(fd: number, size: number): Buffer {
  try {
    const data = Buffer.allocUnsafe(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, data, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    return read === size ? data : data.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}
