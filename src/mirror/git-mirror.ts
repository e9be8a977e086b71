import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeciderError, isDeciderError } from '../errors.ts';
import { type CommitInfo, GitRepo } from '../tree/git-repo.ts';
import { runGit } from './run-git.ts';
import { withoutUserinfo } from './url.ts';

const execFileAsync = promisify(execFile);
const FULL_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
/** Where the remote's HEAD is kept: a bare mirror's own HEAD names a branch that may not exist. */
const REMOTE_HEAD = 'refs/mirror/HEAD';
const REFSPECS = ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*', `+HEAD:${REMOTE_HEAD}`];

export interface MirrorOptions {
  /** The whole fetch, git's process group included, ends after this. */
  timeoutMs: number;
  /** An http(s) transfer slower than `bytesPerSecond` for `seconds` is cut (git's `http.lowSpeed*`). */
  lowSpeed?: { bytesPerSecond: number; seconds: number };
  /**
   * Credentials for an http(s) remote (from the environment): given to git by a credential
   * helper scoped to the remote's origin, so they are in no URL, no command line and no
   * request to another origin a redirect leads to (an `http.extraHeader` would go there).
   */
  credentials?: FetchCredentials | null;
  /** Asked before each fetch and told its outcome: a breaker holding fetches while the upstream is down. */
  gate?: FetchGate;
}

/** Holds fetches back while an upstream is known to be down (src/service/breaker.ts). */
export interface FetchGate {
  /** Why a fetch may not start now, or null. Probes are not asked. */
  refusal(): DeciderError | null;
  /** Each fetch's outcome: null when it succeeded, else why it failed. */
  record(failure: string | null): void;
}

export interface FetchCredentials {
  readonly username: string;
  readonly password: string;
}

/** Answers git's `get` with the credentials git's environment holds; nothing for `store`/`erase`. */
const CREDENTIAL_HELPER = `!f() { test "$1" = get && printf 'username=%s\\npassword=%s\\n' "$IMAGE_DECIDER_FETCH_USERNAME" "$IMAGE_DECIDER_FETCH_PASSWORD"; }; f`;

/**
 * One bare mirror of a repository under the data folder. A revision already present needs
 * no network; otherwise one `git fetch` (branches, tags and HEAD) runs at a time, bounded
 * in time and, over http(s), in speed.
 */
export class GitMirror {
  private fetching: Promise<unknown> = Promise.resolve();
  /** The refresh anonymous reads share, while it runs; and when the last one started. */
  private refreshing: Promise<void> | null = null;
  private refreshedAt = -Infinity;
  private opened: Promise<GitRepo> | null = null;
  private readonly config: Array<[string, string]>;
  private readonly env: Record<string, string> = {};
  lastFetchAt: Date | null = null;
  lastFetchError: string | null = null;

  private constructor(
    readonly name: string,
    readonly url: string,
    readonly path: string,
    private readonly options: MirrorOptions,
  ) {
    const { bytesPerSecond, seconds } = options.lowSpeed ?? { bytesPerSecond: 1000, seconds: 30 };
    this.config = [
      ['http.lowSpeedLimit', String(bytesPerSecond)],
      ['http.lowSpeedTime', String(seconds)],
      // Unpacked loose, a fetch's commit is readable before its trees and blobs are written, so a
      // push naming it would find it "present" and then miss its tree; a pack appears whole.
      ['fetch.unpackLimit', '1'],
      // A pack per fetch makes gc --auto consolidate often: it leaves the big (first) pack be.
      ['gc.bigPackThreshold', '256m'],
    ];
    if (options.credentials && /^https?:\/\//i.test(url)) {
      // The empty helper first: the helpers configured before it are not asked to store these.
      const key = `credential.${new URL(url).origin}.helper`;
      this.config.push([key, ''], [key, CREDENTIAL_HELPER]);
      this.env = { IMAGE_DECIDER_FETCH_USERNAME: options.credentials.username, IMAGE_DECIDER_FETCH_PASSWORD: options.credentials.password };
    }
  }

  static async create(name: string, url: string, dataDir: string, options: MirrorOptions): Promise<GitMirror> {
    const path = join(dataDir, 'mirrors', `${name}.git`);
    await mkdir(path, { recursive: true });
    if (!(await GitRepo.isRepository(path))) await execFileAsync('git', ['init', '--bare', '--quiet', path]);
    return new GitMirror(name, url, path, options);
  }

  repo(): Promise<GitRepo> {
    this.opened ??= GitRepo.open(this.path);
    return this.opened;
  }

  /** The commit `rev` names (a sha, branch, tag or HEAD), fetching when it is not known or may have moved. */
  async resolve(rev: string): Promise<CommitInfo> {
    const repo = await this.repo();
    if (FULL_SHA.test(rev)) {
      const present = await repo.resolve(rev).catch(() => null);
      if (present) return present;
    }
    await this.fetch(FULL_SHA.test(rev) ? rev : null);
    return this.resolveFetched(repo, rev);
  }

  /**
   * For anonymous reads: `rev` as the mirror has it (a ref as last fetched), fetching only
   * when it is not there, and then at most once per `intervalMs` for all callers together
   * (they share a fetch in progress; until the interval passes, a revision still missing is
   * unknown without asking upstream again).
   */
  async lookup(rev: string, intervalMs: number): Promise<CommitInfo> {
    const repo = await this.repo();
    const known = await repo.resolve(rev === 'HEAD' ? REMOTE_HEAD : rev).catch(() => null);
    if (known) return known;
    // An unreachable upstream: said at once, rather than as an unknown revision or after a timeout.
    const refused = this.options.gate?.refusal();
    if (refused) throw refused;
    if (!this.refreshing && performance.now() - this.refreshedAt >= intervalMs) {
      this.refreshedAt = performance.now();
      this.refreshing = this.fetch(FULL_SHA.test(rev) ? rev : null).finally(() => {
        this.refreshing = null;
      });
    }
    await this.refreshing;
    return this.resolveFetched(repo, rev);
  }

  private resolveFetched(repo: GitRepo, rev: string): Promise<CommitInfo> {
    return repo.resolve(rev === 'HEAD' ? REMOTE_HEAD : rev).catch((err: unknown) => {
      // The mirror's folder is the server's business, not the caller's.
      throw isDeciderError(err) && err.code === 'unknown-revision' ? new DeciderError('unknown-revision', `revision ${rev} is not in ${this.name}`) : err;
    });
  }

  /**
   * Fetches every branch and tag (and a sha the server does not advertise, when asked). While
   * the gate refuses, it fails at once, also when its turn comes after fetches queued before it;
   * a probe is the one fetch the gate lets through.
   */
  fetch(sha: string | null = null, options: { probe?: boolean } = {}): Promise<void> {
    const refusal = () => (options.probe ? null : (this.options.gate?.refusal() ?? null));
    const refused = refusal();
    if (refused) return Promise.reject(refused);
    const run = this.fetching.then(async () => {
      const late = refusal();
      if (late) throw late;
      try {
        await this.git(['fetch', '--quiet', '--no-write-fetch-head', '--', this.url, ...REFSPECS]);
      } catch (err) {
        this.lastFetchError = isDeciderError(err) ? err.message : String(err);
        this.options.gate?.record(this.lastFetchError);
        throw err;
      }
      this.options.gate?.record(null);
      if (sha && !(await (await this.repo()).has(sha))) {
        await this.git(['fetch', '--quiet', '--no-write-fetch-head', '--', this.url, sha]).catch(() => undefined);
      }
      this.lastFetchAt = new Date();
      this.lastFetchError = null;
    });
    this.fetching = run.catch(() => undefined);
    return run;
  }

  private async git(args: string[]): Promise<void> {
    const result = await runGit(['--git-dir', this.path, ...args], { timeoutMs: this.options.timeoutMs, config: this.config, env: this.env });
    if (result.timedOut) throw this.fetchError(`timed out after ${this.options.timeoutMs / 1000} s`);
    if (result.code !== 0) throw this.fetchError(result.stderr || `git exited with ${result.code}`);
  }

  private fetchError(why: string): DeciderError {
    // git names the URL in its messages, and a URL may carry credentials: they never reach an error.
    return new DeciderError('fetch-failed', `fetching ${this.name}: ${withoutUserinfo(why)}`);
  }

  async close(): Promise<void> {
    await this.fetching;
    const repo = await this.opened?.catch(() => null);
    await repo?.close();
  }
}
