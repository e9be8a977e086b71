import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeciderError, isDeciderError } from '../errors.ts';
import { type CommitInfo, GitRepo } from '../tree/git-repo.ts';

const execFileAsync = promisify(execFile);
const FULL_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
/** Where the remote's HEAD is kept: a bare mirror's own HEAD names a branch that may not exist. */
const REMOTE_HEAD = 'refs/mirror/HEAD';

/**
 * One bare mirror of a repository under the data folder. A revision already present needs
 * no network; otherwise one fetch (branches, tags and HEAD) runs at a time, with a timeout.
 */
export class GitMirror {
  private fetching: Promise<unknown> = Promise.resolve();
  private opened: Promise<GitRepo> | null = null;
  lastFetchAt: Date | null = null;
  lastFetchError: string | null = null;

  private constructor(
    readonly name: string,
    readonly url: string,
    readonly path: string,
    private readonly timeoutMs: number,
  ) {}

  static async create(name: string, url: string, dataDir: string, timeoutMs: number): Promise<GitMirror> {
    const path = join(dataDir, 'mirrors', `${name}.git`);
    await mkdir(path, { recursive: true });
    if (!(await GitRepo.isRepository(path))) await execFileAsync('git', ['init', '--bare', '--quiet', path]);
    return new GitMirror(name, url, path, timeoutMs);
  }

  repo(): Promise<GitRepo> {
    this.opened ??= GitRepo.open(this.path);
    return this.opened;
  }

  /** The commit `rev` names (a sha, branch, tag or HEAD), fetching when it is not known or may have moved. */
  async resolve(rev: string): Promise<CommitInfo> {
    const repo = await this.repo();
    const wanted = rev === 'HEAD' ? REMOTE_HEAD : rev;
    if (FULL_SHA.test(rev)) {
      const present = await repo.resolve(rev).catch(() => null);
      if (present) return present;
    }
    await this.fetch(FULL_SHA.test(rev) ? rev : null);
    return repo.resolve(wanted);
  }

  /** Fetches every branch and tag (and a sha the server does not advertise, when asked). */
  fetch(sha: string | null = null): Promise<void> {
    const run = this.fetching.then(async () => {
      const refspecs = ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*', `+HEAD:${REMOTE_HEAD}`];
      await this.git(['fetch', '--quiet', '--no-write-fetch-head', '--', this.url, ...refspecs]);
      if (sha && !(await this.has(sha))) await this.git(['fetch', '--quiet', '--no-write-fetch-head', '--', this.url, sha]).catch(() => undefined);
      this.lastFetchAt = new Date();
      this.lastFetchError = null;
    });
    this.fetching = run.catch(() => undefined);
    return run.catch((err: unknown) => {
      this.lastFetchError = isDeciderError(err) ? err.message : String(err);
      throw err;
    });
  }

  private async has(sha: string): Promise<boolean> {
    return (await this.repo()).resolve(sha).then(() => true, () => false);
  }

  private async git(args: string[]): Promise<void> {
    try {
      await execFileAsync('git', ['--git-dir', this.path, ...args], { timeout: this.timeoutMs, killSignal: 'SIGKILL' });
    } catch (err) {
      const e = err as { killed?: boolean; stderr?: string; message: string };
      const why = e.killed ? `timed out after ${this.timeoutMs / 1000} s` : (e.stderr?.trim() || e.message);
      // A URL may carry credentials (https://user:token@host/...): they never reach an error.
      throw new DeciderError('fetch-failed', `fetching ${this.name}: ${why.replace(/\/\/[^/@\s]+@/g, '//[redacted]@')}`);
    }
  }

  async close(): Promise<void> {
    const repo = await this.opened?.catch(() => null);
    await repo?.close();
  }
}
