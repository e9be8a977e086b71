import type { Readable } from 'node:stream';
import { DeciderError } from '../errors.ts';
import type { CommitInfo, GitRepo } from './git-repo.ts';
import { SinkReadable } from './sink-readable.ts';
import type { ContentSink, ReadStats, TreeEntry, TreeSource } from './types.ts';

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
    if (!entry || entry.kind !== 'dir') throw new Error(`${dir} is not a folder in ${this.description}`);
    return [...(await this.repo.readTree(entry.oid!)).values()];
  }

  async readFile(path: string): Promise<Buffer> {
    return this.repo.readBlob(await this.blobOid(path));
  }

  async readLink(path: string): Promise<string> {
    return (await this.readFile(path)).toString('utf8');
  }

  readStream(path: string): Readable {
    const out = new SinkReadable();
    void this.lstat(path)
      .then((entry) => {
        if (!entry || entry.kind !== 'file') throw new Error(`${path} is not a file in ${this.description}`);
        return this.sendFile(path, entry, out.sink());
      })
      .catch((err: Error) => out.destroy(err));
    return out;
  }

  async objectId(path: string): Promise<string | null> {
    return (await this.lstat(path))?.oid ?? null;
  }

  sendFile(path: string, entry: TreeEntry, sink: ContentSink): Promise<void> {
    const stats = this.repo.stats;
    return new Promise((resolve, reject) => {
      this.repo.batch.request(entry.oid!, {
        header: (_oid, type, size) => {
          stats.filesRead += 1;
          sink.start(size);
          if (type !== 'blob') reject(new Error(`${path} is a ${type}`));
        },
        data: (chunk) => {
          stats.blobBytesRead += chunk.length;
          return sink.data(chunk);
        },
        drained: () => sink.drained(),
        end: () => {
          try {
            sink.end();
            resolve();
          } catch (err) {
            reject(err as Error);
          }
        },
        fail: (err) => reject(new DeciderError('repository-unreadable', `${path}: ${err.message}`)),
      });
    });
  }

  async close(): Promise<void> {
    // The repository (and its cat-file process) outlives one revision.
  }

  private async blobOid(path: string): Promise<string> {
    const entry = await this.lstat(path);
    if (!entry || (entry.kind !== 'file' && entry.kind !== 'symlink')) {
      throw new Error(`${path} is not a file in ${this.description}`);
    }
    return entry.oid!;
  }
}
