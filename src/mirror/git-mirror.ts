import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeciderError, isDeciderError } from '../errors.ts';
import { type CommitInfo, GitRepo } from '../tree/git-repo.ts';
import { fetchNative } from './native-fetch.ts';
import { RefUpdater } from './ref-updater.ts';
import { LocalUploadPack } from './local-upload-pack.ts';
import { ProtocolV2Unsupported } from './session.ts';
import { configAllowsNative, nativeTransport } from './upload-pack.ts';

const execFileAsync = promisify(execFile);
const FULL_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
/** Where the remote's HEAD is kept: a bare mirror's own HEAD names a branch that may not exist. */
const REMOTE_HEAD = 'refs/mirror/HEAD';
/** A native fetch leaves at most 100 loose objects; auto gc packs them from 6,700 on, so 50 fetches late adds 5,000 at most. */
const MAINTENANCE_EVERY = 50;
const REFSPECS = ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*', `+HEAD:${REMOTE_HEAD}`];
/** Where the native fetch keeps each remote ref: the refspecs above (names git could not hold are skipped). */
const localName = (ref: string) => (ref === 'HEAD' ? REMOTE_HEAD : /^refs\/(heads|tags)\/[^\0- ~^:?*[\\\x7f]+$/.test(ref) ? ref : null);

export interface MirrorOptions {
  timeoutMs: number;
  /** 'git': always `git fetch` (default: native where the remote allows). */
  fetchWith?: 'native' | 'git';
}

/**
 * One bare mirror of a repository under the data folder. A revision already present needs
 * no network; otherwise one fetch (branches, tags and HEAD) runs at a time, with a timeout.
 * Local and http(s) remotes that speak protocol v2 are fetched natively (`fetchNative`),
 * others by `git fetch`.
 */
export class GitMirror {
  private fetching: Promise<unknown> = Promise.resolve();
  private opened: Promise<GitRepo> | null = null;
  /**
   * The mirror's refs as the last native fetch left them; null: read them again. Nothing else
   * writes them: a mirror belongs to one process (each process has its own data folder).
   */
  private refs: Map<string, string> | null = null;
  /** How the remote is fetched natively; null: always by `git fetch` (a URL scheme, or asked to). */
  private readonly transport: 'local' | 'http' | null;
  /** Whether git's configuration leaves the URL to the native fetch; null until the first fetch asks. */
  private native: boolean | null = null;
  private closed = false;
  private readonly refUpdater: RefUpdater;
  private nativeFetches = 0;
  private spare: LocalUploadPack | null = null;
  private readonly timeoutMs: number;
  lastFetchAt: Date | null = null;
  lastFetchError: string | null = null;

  private constructor(
    readonly name: string,
    readonly url: string,
    readonly path: string,
    options: MirrorOptions,
  ) {
    this.timeoutMs = options.timeoutMs;
    this.transport = options.fetchWith === 'git' ? null : nativeTransport(url);
    this.refUpdater = new RefUpdater(path);
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
      this.native ??= this.transport !== null && (await configAllowsNative(this.url, this.path));
      if (!(this.native && (await this.fetchNatively(sha)))) {
        this.refs = null;
        await this.git(['fetch', '--quiet', '--no-write-fetch-head', '--', this.url, ...REFSPECS]);
        if (sha && !(await this.has(sha))) await this.git(['fetch', '--quiet', '--no-write-fetch-head', '--', this.url, sha]).catch(() => undefined);
      }
      this.lastFetchAt = new Date();
      this.lastFetchError = null;
    });
    this.fetching = run.then(() => this.housekeeping()).catch(() => undefined);
    return run.catch((err: unknown) => {
      this.lastFetchError = isDeciderError(err) ? err.message : String(err);
      throw err;
    });
  }

  /**
   * What `git fetch` does after each fetch (`git maintenance run --auto`: pack loose objects
   * once there are thousands), done after every `MAINTENANCE_EVERY` native fetches instead:
   * each start of git stalls the event loop here. It runs once the caller has its revision.
   */
  private async housekeeping(): Promise<void> {
    if (this.nativeFetches < MAINTENANCE_EVERY) return;
    this.nativeFetches = 0;
    await new Promise((resolve) => setImmediate(resolve));
    await this.git(['maintenance', 'run', '--auto', '--quiet']);
  }

  /**
   * False when this fetch is for `git fetch` to do: the server does not speak v2 here (or
   * answered with something else: a maintenance page, a redirect, a certificate Node
   * refuses). Asked again next time, as that may pass.
   */
  private async fetchNatively(sha: string | null): Promise<boolean> {
    this.refs ??= await this.readRefs();
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      this.refs = await fetchNative({
        gitDir: this.path, url: this.url, prefixes: ['HEAD', 'refs/heads/', 'refs/tags/'], localName,
        localRefs: this.refs, has: (oid) => this.has(oid), readObject: async (oid, maxBytes) => (await this.repo()).readObject(oid, maxBytes),
        refUpdater: this.refUpdater, extraWant: sha, signal, spare: this.takeSpare(),
      });
      this.nativeFetches += 1;
      return true;
    } catch (err) {
      if (err instanceof ProtocolV2Unsupported) return false;
      this.refs = null; // a transaction may or may not have landed
      throw this.fetchError(signal.aborted ? `timed out after ${this.timeoutMs / 1000} s` : (err as Error).message);
    }
  }

  /**
   * Starts the next fetch's upload-pack now, for a local remote (an http(s) one keeps its
   * connection alive instead). Call it when idle: the start stalls this process a little.
   */
  warm(): void {
    if (this.native !== false && this.transport === 'local' && !this.closed && !this.spare) this.spare = LocalUploadPack.start(this.url);
  }

  private takeSpare(): LocalUploadPack | null {
    const spare = this.spare;
    this.spare = null;
    return spare;
  }

  private async readRefs(): Promise<Map<string, string>> {
    const { stdout } = await execFileAsync('git', ['--git-dir', this.path, 'for-each-ref', '--format=%(objectname) %(refname)']);
    return new Map(stdout.split('\n').filter(Boolean).map((line) => [line.slice(line.indexOf(' ') + 1), line.slice(0, line.indexOf(' '))]));
  }

  private async has(oid: string): Promise<boolean> {
    return (await this.repo()).has(oid);
  }

  private async git(args: string[]): Promise<void> {
    try {
      await execFileAsync('git', ['--git-dir', this.path, ...args], {
        timeout: this.timeoutMs, killSignal: 'SIGKILL', env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
      });
    } catch (err) {
      const e = err as { killed?: boolean; stderr?: string; message: string };
      throw this.fetchError(e.killed ? `timed out after ${this.timeoutMs / 1000} s` : (e.stderr?.trim() || e.message));
    }
  }

  private fetchError(why: string): DeciderError {
    // A URL may carry credentials (https://user:token@host/...): they never reach an error.
    return new DeciderError('fetch-failed', `fetching ${this.name}: ${why.replace(/\/\/[^/@\s]+@/g, '//[redacted]@')}`);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.fetching; // a fetch in progress would start another update-ref after this
    this.refUpdater.close();
    this.takeSpare()?.kill();
    const repo = await this.opened?.catch(() => null);
    await repo?.close();
  }
}
