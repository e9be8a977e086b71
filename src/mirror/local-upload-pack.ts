import { statSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type GitProcess, spawnGit } from './git-process.ts';
import { FLUSH, PacketReader } from './pkt-line.ts';
import { readCapabilities, type UploadPackSession } from './session.ts';

/** A spare older than this is replaced rather than used. */
const MAX_SPARE_AGE_MS = 10 * 60_000;

/** The folder upload-pack serves: `<path>/.git` when there is one (git enters it), else the path. */
const folderIdentity = (path: string) => {
  for (const candidate of [join(path, '.git'), path]) {
    try {
      const { dev, ino } = statSync(candidate);
      return `${dev}:${ino}`;
    } catch {
      // not there: the next candidate
    }
  }
  return null;
};

/**
 * `git upload-pack` on a local repository: one process, commands in turn on its stdin. It
 * can be started ahead of its fetch, as an HTTP connection is kept alive: a process start
 * costs this process 5-20 ms (more as it grows), and upload-pack reads the refs and objects
 * only when a command comes. It holds its repository's folder from the start, so a spare
 * is only used while that folder is still the one at the path.
 */
export class LocalUploadPack implements UploadPackSession {
  capabilities: string[] = [];
  private readonly proc: GitProcess;
  private readonly reader: PacketReader;
  private readonly advertised: Promise<string[]>;
  private readonly path: string;
  private readonly folder: string | null;
  private readonly startedAt = Date.now();

  private constructor(url: string) {
    this.path = /^file:\/\//i.test(url) ? fileURLToPath(url) : resolvePath(url);
    this.folder = folderIdentity(this.path);
    const { proc, stderr } = spawnGit(['upload-pack', this.path], { env: { ...process.env, GIT_PROTOCOL: 'version=2' } });
    this.proc = proc;
    const exited = new Promise<never>((_, reject) => {
      proc.on('error', reject);
      proc.on('close', (code) => reject(new Error(`git upload-pack exited (${code}): ${stderr()}`)));
    });
    exited.catch(() => undefined);
    this.reader = PacketReader.of(proc.stdout);
    // A repository that is not one ends the output before the process: its stderr says why.
    this.advertised = readCapabilities(this.reader).catch(async (err: unknown) => {
      await Promise.race([exited, setTimeout(1000)]);
      throw err;
    });
    this.advertised.catch(() => undefined);
  }

  static start(url: string): LocalUploadPack {
    return new LocalUploadPack(url);
  }

  /** A session on this spare, or a fresh one when the spare is stale or has died. */
  static async open(url: string, signal: AbortSignal, spare: LocalUploadPack | null): Promise<LocalUploadPack> {
    const stale = spare && (!spare.alive || Date.now() - spare.startedAt > MAX_SPARE_AGE_MS || folderIdentity(spare.path) !== spare.folder);
    if (stale) spare.kill();
    else if (spare) {
      const ready = await spare.ready(signal).catch(() => null);
      if (ready) return ready;
    }
    return LocalUploadPack.start(url).ready(signal);
  }

  /** Waits for its advertisement; from now on `signal` ends the process. */
  async ready(signal: AbortSignal): Promise<LocalUploadPack> {
    const kill = () => this.kill();
    if (signal.aborted) kill();
    signal.addEventListener('abort', kill, { once: true });
    this.proc.once('close', () => signal.removeEventListener('abort', kill));
    this.capabilities = await this.advertised;
    return this;
  }

  kill(): void {
    this.proc.kill('SIGKILL');
  }

  private get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async command(request: Buffer): Promise<PacketReader> {
    this.proc.stdin.write(request);
    return this.reader;
  }

  close(): void {
    this.proc.stdin.end(FLUSH);
    this.proc.stdout.resume();
  }
}
