import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';

/**
 * A git command fed on stdin, which may be started before its input is known: process
 * starts are slow (10-15 ms here), and one started early runs while the network answers.
 */
export class GitStdinCommand {
  private stderr = '';
  private readonly closed: Promise<[number | null]>;
  private readonly proc: ChildProcessByStdio<Writable, null, Readable>;

  constructor(gitDir: string, readonly args: readonly string[], signal: AbortSignal) {
    this.proc = spawn('git', ['--git-dir', gitDir, ...args], { stdio: ['pipe', 'ignore', 'pipe'], signal, killSignal: 'SIGKILL' });
    this.proc.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-2048);
    });
    this.proc.stdin.on('error', () => undefined); // its exit code says what went wrong
    this.closed = once(this.proc, 'close') as Promise<[number | null]>;
    this.closed.catch(() => undefined); // awaited in finish(); an abort must not go unhandled before
  }

  async write(chunk: Buffer): Promise<void> {
    if (!this.proc.stdin.write(chunk)) await Promise.race([once(this.proc.stdin, 'drain'), this.closed]);
  }

  /** Ends the input and waits for the command, which must succeed. */
  async finish(last?: string): Promise<void> {
    this.proc.stdin.end(last);
    const [code] = await this.closed;
    if (code !== 0) throw new Error(`git ${this.args[0]} failed (${code}): ${this.stderr.trim()}`);
  }

  /** Stops the command unless it has finished: it was not needed, or its input is abandoned. */
  discard(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}
