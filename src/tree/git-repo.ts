import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DeciderError } from '../errors.ts';
import { GitBatch } from './git-batch.ts';
import { decodeName } from './name-bytes.ts';
import type { EntryKind, ReadStats, TreeEntry } from './types.ts';
import { newReadStats } from './types.ts';

const execFileAsync = promisify(execFile);

export interface CommitInfo {
  sha: string;
  tree: string;
  /** Committer time, seconds since the epoch. */
  time: number;
}

const MODE_KINDS: Record<string, { kind: EntryKind; mode: number }> = {
  '100644': { kind: 'file', mode: 0o644 },
  '100755': { kind: 'file', mode: 0o755 },
  '100664': { kind: 'file', mode: 0o664 },
  '120000': { kind: 'symlink', mode: 0o777 },
  '40000': { kind: 'dir', mode: 0o755 },
  '160000': { kind: 'gitlink', mode: 0 },
};

export type GitTreeObject = ReadonlyMap<string, TreeEntry>;

/**
 * A local git repository (bare or not). Owns one `cat-file` process and a cache
 * of parsed tree objects, which are immutable and so shared by every revision.
 */
export class GitRepo {
  readonly stats: ReadStats = newReadStats();
  private readonly trees = new Map<string, Promise<GitTreeObject>>();
  private readonly maxCachedTrees: number;
  private batchProcess: GitBatch | null = null;

  private constructor(
    readonly path: string,
    readonly gitDir: string,
    private readonly oidBytes: number,
    options: { maxCachedTrees?: number },
  ) {
    this.maxCachedTrees = options.maxCachedTrees ?? 50_000;
  }

  /** Opens a repository; throws `repository-unreadable` if `path` is not one. */
  static async open(path: string, options: { maxCachedTrees?: number } = {}): Promise<GitRepo> {
    let out: string;
    try {
      ({ stdout: out } = await execFileAsync('git', ['-C', path, 'rev-parse', '--absolute-git-dir', '--show-object-format']));
    } catch (err) {
      throw new DeciderError('repository-unreadable', `${path} is not a readable git repository`, { cause: err });
    }
    const [gitDir, format] = out.trim().split('\n');
    return new GitRepo(path, gitDir!, format === 'sha256' ? 32 : 20, options);
  }

  /** True when `path` is itself a git repository (its top level, or a bare one). */
  static async isRepository(path: string): Promise<boolean> {
    try {
      const { stdout } = await execFileAsync('git', ['-C', path, 'rev-parse', '--is-bare-repository', '--show-prefix']);
      const [bare, prefix] = stdout.split('\n');
      return bare === 'true' || prefix === '';
    } catch {
      return false;
    }
  }

  get batch(): GitBatch {
    this.batchProcess ??= new GitBatch(this.gitDir);
    return this.batchProcess;
  }

  /** Resolves a sha, branch or tag to its commit. */
  async resolve(rev: string): Promise<CommitInfo> {
    // A full commit id is read through the running cat-file (no process to spawn): pushes name them.
    if (rev.length === this.oidBytes * 2 && /^[0-9a-f]+$/.test(rev)) {
      const commit = await this.readCommit(rev);
      if (commit === 'missing') throw new DeciderError('unknown-revision', `revision ${rev} is not in ${this.path}`);
      if (commit) return commit;
    }
    if (rev === '' || rev.startsWith('-') || /[\0\n]/.test(rev)) {
      throw new DeciderError('unknown-revision', `not a revision: ${JSON.stringify(rev)}`);
    }
    try {
      const { stdout } = await execFileAsync('git', [
        '--git-dir',
        this.gitDir,
        'show',
        '-s',
        '--no-show-signature',
        '--format=%H %T %ct',
        '--end-of-options',
        `${rev}^{commit}`,
        '--',
      ]);
      const [sha, tree, time] = stdout.trim().split(' ');
      return { sha: sha!, tree: tree!, time: Number(time) };
    } catch (err) {
      throw new DeciderError('unknown-revision', `revision ${rev} is not in ${this.path}`, { cause: err });
    }
  }

  /** True when object `oid` (of any type) is in the repository. */
  async has(oid: string): Promise<boolean> {
    return (await this.readObject(oid)) !== null;
  }

  /** Object `oid` of any type; null when the repository has none by that id. */
  readObject(oid: string): Promise<{ type: string; data: Buffer } | null> {
    return this.batch.read(oid);
  }

  /** The commit `oid` names; null when it is another kind of object (the slow path peels tags). */
  private async readCommit(oid: string): Promise<CommitInfo | 'missing' | null> {
    const object = await this.batch.read(oid);
    if (!object) return 'missing';
    if (object.type !== 'commit') return null;
    const text = object.data.toString('utf8');
    const tree = /^tree ([0-9a-f]+)$/m.exec(text)?.[1];
    const time = /^committer .* (\d+) [+-]\d{4}$/m.exec(text)?.[1];
    return tree && time ? { sha: oid, tree, time: Number(time) } : null;
  }

  readTree(oid: string): Promise<GitTreeObject> {
    let tree = this.trees.get(oid);
    if (tree) {
      // refresh its place in the LRU order
      this.trees.delete(oid);
      this.trees.set(oid, tree);
      return tree;
    }
    tree = this.batch.read(oid).then((object) => {
      if (object?.type !== 'tree') throw new DeciderError('repository-unreadable', `object ${oid} is ${object ? `a ${object.type}` : 'missing'}, not a tree`);
      this.stats.treesRead += 1;
      return this.parseTree(object.data);
    });
    tree.catch(() => this.trees.delete(oid));
    this.trees.set(oid, tree);
    if (this.trees.size > this.maxCachedTrees) {
      this.trees.delete(this.trees.keys().next().value!);
    }
    return tree;
  }

  async readBlob(oid: string): Promise<Buffer> {
    const object = await this.batch.read(oid);
    if (!object) throw new DeciderError('repository-unreadable', `git object ${oid} is missing`);
    this.stats.filesRead += 1;
    this.stats.blobBytesRead += object.data.length;
    return object.data;
  }

  async close(): Promise<void> {
    const batch = this.batchProcess;
    this.batchProcess = null;
    await batch?.close();
  }

  /** Binary tree format: `<octal mode> <name>\0<raw oid>` repeated. */
  private parseTree(data: Buffer): GitTreeObject {
    const entries = new Map<string, TreeEntry>();
    let pos = 0;
    while (pos < data.length) {
      const space = data.indexOf(0x20, pos);
      const nul = data.indexOf(0, space);
      const modeText = data.toString('latin1', pos, space);
      // Names are bytes to git: surrogateescape keeps one that is not UTF-8 as it is.
      const name = decodeName(data, space + 1, nul);
      const oid = data.toString('hex', nul + 1, nul + 1 + this.oidBytes);
      pos = nul + 1 + this.oidBytes;
      const known = MODE_KINDS[modeText] ?? { kind: 'file' as const, mode: Number.parseInt(modeText, 8) & 0o7777 };
      entries.set(name, { name, kind: known.kind, mode: known.mode, oid });
    }
    return entries;
  }
}
