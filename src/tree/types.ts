import type { Readable } from 'node:stream';

export type EntryKind = 'file' | 'dir' | 'symlink' | 'gitlink';

/** One entry of a tree, as `lstat` sees it: symlinks are not followed. */
export interface TreeEntry {
  readonly name: string;
  readonly kind: EntryKind;
  /** Permission bits including setuid/setgid/sticky (`mode & 0o7777`). */
  readonly mode: number;
  /** Git object id; null where the source has none (a plain folder). */
  readonly oid: string | null;
}

export interface ReadStats {
  /** Bytes of file content read (git blobs or files on disk). */
  blobBytesRead: number;
  /** Number of file contents read. */
  filesRead: number;
  /** Number of git tree objects read (cache misses). */
  treesRead: number;
}

/**
 * Receives one file's content. `start` comes first with the exact size, then
 * `data` chunks; `data` returning false asks the source to wait for `drained`.
 */
export interface ContentSink {
  start(size: number): void;
  data(chunk: Buffer): boolean;
  drained(): Promise<void>;
  end(): void;
}

export interface FileToSend {
  readonly path: string;
  /** What `lstat(path)` returned. */
  readonly entry: TreeEntry;
}

/** The files of a repository at one revision (or of a plain folder). Paths are
 * repository-relative, `/`-separated, normalised, '' for the root. */
export interface TreeSource {
  /** Human-readable origin, for messages. */
  readonly description: string;
  /** Full commit id, or null for a plain folder. */
  readonly revision: string | null;
  readonly stats: ReadStats;
  lstat(path: string): Promise<TreeEntry | null>;
  /** Direct children of a folder. */
  list(dir: string): Promise<TreeEntry[]>;
  readFile(path: string): Promise<Buffer>;
  readStream(path: string): Readable;
  readLink(path: string): Promise<string>;
  objectId(path: string): Promise<string | null>;
  /**
   * Sends a regular file's content to `sink`. Calls on one source are served in
   * call order (so a caller may issue many before awaiting any), and `entry`
   * must be what `lstat(path)` returned.
   */
  sendFile(path: string, entry: TreeEntry, sink: ContentSink): Promise<void>;
  /**
   * Sends several files' contents, in order, to one sink: `start`, `data`..., `end` per
   * file. Settles once every file is answered, with the first error. Optional: a source
   * that reads many small files for one caller can save per-file work (a promise and a
   * sink each) this way; callers fall back to `sendFile`.
   */
  sendFiles?(files: readonly FileToSend[], sink: ContentSink): Promise<void>;
  close(): Promise<void>;
}

export function newReadStats(): ReadStats {
  return { blobBytesRead: 0, filesRead: 0, treesRead: 0 };
}
