import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';

export type GitProcess = ChildProcessByStdio<Writable, Readable, Readable>;

/**
 * Starts git with its three streams piped. Writing to a git that has died is not an error
 * here (its exit says what went wrong); the tail of its stderr is kept for that message.
 */
export function spawnGit(args: readonly string[], options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): { proc: GitProcess; stderr: () => string } {
  const proc = spawn('git', args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env, signal: options.signal, killSignal: 'SIGKILL' });
  let tail = '';
  proc.stderr.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-2048);
  });
  proc.stdin.on('error', () => undefined);
  return { proc, stderr: () => tail.trim() };
}

/** A git command fed on stdin (`index-pack --stdin`), which must succeed. */
export class GitStdinCommand {
  private readonly closed: Promise<[number | null]>;
  private readonly proc: GitProcess;
  private readonly stderr: () => string;

  constructor(gitDir: string, readonly args: readonly string[], signal: AbortSignal) {
    ({ proc: this.proc, stderr: this.stderr } = spawnGit(['--git-dir', gitDir, ...args], { signal }));
    this.proc.stdout.resume();
    this.closed = once(this.proc, 'close') as Promise<[number | null]>;
    this.closed.catch(() => undefined); // awaited in finish(); an abort must not go unhandled before
  }

  async write(chunk: Buffer): Promise<void> {
    if (!this.proc.stdin.write(chunk)) await Promise.race([once(this.proc.stdin, 'drain'), this.closed]);
  }

  /** Ends the input and waits for the command, which must succeed. */
  async finish(): Promise<void> {
    this.proc.stdin.end();
    const [code] = await this.closed;
    if (code !== 0) throw new Error(`git ${this.args[0]} failed (${code}): ${this.stderr()}`);
  }

  /** Stops the command unless it has finished: its input is abandoned. */
  discard(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}
