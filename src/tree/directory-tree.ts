import { createReadStream } from 'node:fs';
import { lstat, readFile, readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ContentSink, EntryKind, ReadStats, TreeEntry, TreeSource } from './types.ts';
import { newReadStats } from './types.ts';

/** Files up to this size are read whole, ahead of their turn; larger ones stream. */
const PREFETCH_LIMIT = 1 << 20;

function kindOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): EntryKind | null {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return null;
}

/** A checked-out folder; modes come from `stat`, so the checkout's umask matters. */
export class DirectoryTree implements TreeSource {
  readonly revision = null;
  readonly stats: ReadStats = newReadStats();
  readonly description: string;
  /** Serialises sendFile deliveries so that they happen in call order. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(readonly root: string) {
    this.description = root;
  }

  async lstat(path: string): Promise<TreeEntry | null> {
    try {
      const st = await lstat(this.abs(path));
      const kind = kindOf(st);
      if (!kind) return null; // sockets, fifos, devices are not repository files
      return { name: path.slice(path.lastIndexOf('/') + 1), kind, mode: st.mode & 0o7777, oid: null };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw err;
    }
  }

  async list(dir: string): Promise<TreeEntry[]> {
    const names = await readdir(this.abs(dir));
    const entries = await Promise.all(names.map((name) => this.lstat(dir === '' ? name : `${dir}/${name}`)));
    return entries.filter((e): e is TreeEntry => e !== null);
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

  readLink(path: string): Promise<string> {
    return readlink(this.abs(path), 'utf8');
  }

  objectId(): Promise<string | null> {
    return Promise.resolve(null);
  }

  sendFile(path: string, _entry: TreeEntry, sink: ContentSink): Promise<void> {
    // Reading starts now; delivery waits for the calls made before this one.
    const early = this.readIfSmall(path);
    early.catch(() => undefined); // reported when its turn comes
    const deliver = async (): Promise<void> => {
      const { size, data } = await early;
      sink.start(data?.length ?? size);
      if (data) {
        this.count(data.length);
        if (data.length > 0 && !sink.data(data)) await sink.drained();
      } else {
        for await (const chunk of this.readStream(path)) {
          if (!sink.data(chunk as Buffer)) await sink.drained();
        }
      }
      sink.end();
    };
    const run = this.tail.then(deliver);
    this.tail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {}

  private async readIfSmall(path: string): Promise<{ size: number; data: Buffer | null }> {
    const { size } = await stat(this.abs(path));
    return size <= PREFETCH_LIMIT ? { size, data: await readFile(this.abs(path)) } : { size, data: null };
  }

  private abs(path: string): string {
    return path === '' ? this.root : join(this.root, path);
  }

  private count(bytes: number, files = 1): void {
    this.stats.blobBytesRead += bytes;
    this.stats.filesRead += files;
  }
}
