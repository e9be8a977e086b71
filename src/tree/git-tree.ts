import type { Readable } from 'node:stream';
import { DeciderError } from '../errors.ts';
import type { ObjectHandler } from './git-batch.ts';
import type { CommitInfo, GitRepo } from './git-repo.ts';
import { decodeName, printableName } from './name-bytes.ts';
import { SinkReadable } from './sink-readable.ts';
import type { ContentSink, FileToSend, ReadStats, TreeEntry, TreeSource } from './types.ts';

const ROOT_MODE = 0o755;

/** A revision of a git repository, read straight from its objects. */
export class GitTree implements TreeSource {
  readonly revision: string;
  readonly description: string;
  private readonly root: TreeEntry;

  constructor(
    readonly repo: GitRepo,
    readonly commit: CommitInfo,
  ) {
    this.revision = commit.sha;
    this.description = `${repo.path}@${commit.sha.slice(0, 12)}`;
    this.root = { name: '', kind: 'dir', mode: ROOT_MODE, oid: commit.tree };
  }

  static async open(repo: GitRepo, rev: string): Promise<GitTree> {
    return new GitTree(repo, await repo.resolve(rev));
  }

  get stats(): ReadStats {
    return this.repo.stats;
  }

  async lstat(path: string): Promise<TreeEntry | null> {
    if (path === '') return this.root;
    let entry: TreeEntry = this.root;
    for (const part of path.split('/')) {
      if (entry.kind !== 'dir') return null;
      const next = (await this.repo.readTree(entry.oid!)).get(part);
      if (!next) return null;
      entry = next;
    }
    return entry;
  }

  async list(dir: string): Promise<TreeEntry[]> {
    const entry = await this.lstat(dir);
    if (!entry || entry.kind !== 'dir') throw new DeciderError('not-found', `${printableName(dir)} is not a folder in ${this.description}`);
    return [...(await this.repo.readTree(entry.oid!)).values()];
  }

  async readFile(path: string): Promise<Buffer> {
    return this.repo.readBlob(await this.blobOid(path));
  }

  async readLink(path: string): Promise<string> {
    return decodeName(await this.readFile(path));
  }

  readStream(path: string): Readable {
    const out = new SinkReadable();
    void this.lstat(path)
      .then((entry) => {
        if (!entry || entry.kind !== 'file') throw new DeciderError('not-found', `${printableName(path)} is not a file in ${this.description}`);
        return this.sendFile(path, entry, out.sink());
      })
      .catch((err: Error) => out.destroy(err));
    return out;
  }

  async objectId(path: string): Promise<string | null> {
    return (await this.lstat(path))?.oid ?? null;
  }

  sendFile(path: string, entry: TreeEntry, sink: ContentSink): Promise<void> {
    return this.sendFiles([{ path, entry }], sink);
  }

  sendFiles(files: readonly FileToSend[], sink: ContentSink): Promise<void> {
    if (files.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const request = new RunRequest(files, sink, this.repo.stats, resolve, reject);
      for (const file of files) this.repo.batch.request(file.entry.oid!, request);
    });
  }

  async close(): Promise<void> {
    // The repository (and its cat-file process) outlives one revision.
  }

  private async blobOid(path: string): Promise<string> {
    const entry = await this.lstat(path);
    if (!entry || (entry.kind !== 'file' && entry.kind !== 'symlink')) {
      throw new DeciderError('not-found', `${printableName(path)} is not a file in ${this.description}`);
    }
    return entry.oid!;
  }
}

/**
 * Streams one or several blobs, in order, into one sink: one handler for all of them, since
 * a context has thousands of files. Settles once git has answered every one, so that no
 * answer outlives the caller; after a failure the rest are read and dropped.
 */
class RunRequest implements ObjectHandler {
  private answered = 0;
  private failure: Error | null = null;

  constructor(
    private readonly files: readonly FileToSend[],
    private readonly sink: ContentSink,
    private readonly stats: ReadStats,
    private readonly resolve: () => void,
    private readonly reject: (err: Error) => void,
  ) {}

  header(_oid: string, type: string, size: number): void {
    if (this.failure) return;
    this.stats.filesRead += 1;
    if (type !== 'blob') {
      this.failure = new DeciderError('repository-unreadable', `${printableName(this.files[this.answered]!.path)} is a ${type}`);
      return;
    }
    try {
      this.sink.start(size);
    } catch (err) {
      this.failure = err as Error;
    }
  }

  data(chunk: Buffer): boolean {
    if (this.failure) return true;
    this.stats.blobBytesRead += chunk.length;
    return this.sink.data(chunk);
  }

  drained(): Promise<void> {
    return this.failure ? Promise.resolve() : this.sink.drained();
  }

  end(): void {
    if (!this.failure) {
      try {
        this.sink.end();
      } catch (err) {
        this.failure = err as Error;
      }
    }
    this.answer();
  }

  fail(err: Error): void {
    this.failure ??= new DeciderError('repository-unreadable', `${printableName(this.files[this.answered]!.path)}: ${err.message}`);
    this.answer();
  }

  private answer(): void {
    this.answered += 1;
    if (this.answered < this.files.length) return;
    if (this.failure) this.reject(this.failure);
    else this.resolve();
  }
}
