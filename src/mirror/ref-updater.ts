import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

/**
 * One long-lived `git update-ref --stdin`, one transaction per fetch (`start` ... `commit`):
 * a process start per fetch costs more here than the update. A failed transaction ends the
 * process (git dies on it); the next update starts another.
 */
export class RefUpdater {
  private proc: ChildProcessByStdio<Writable, Readable, Readable> | null = null;
  private replies: ((line: string | null) => void)[] = [];
  private stderr = '';

  constructor(private readonly gitDir: string) {}

  /** Moves every ref to its oid, all or none. */
  async update(updates: ReadonlyMap<string, string>, signal: AbortSignal): Promise<void> {
    const proc = this.start();
    const commands = ['start', ...[...updates].map(([ref, oid]) => `update ${ref} ${oid}`), 'prepare', 'commit'];
    const answers = ['start', 'prepare', 'commit'].map(() => this.reply());
    proc.stdin.write(`${commands.join('\n')}\n`);
    const abort = () => proc.kill('SIGKILL');
    signal.addEventListener('abort', abort, { once: true });
    try {
      for (const [i, answer] of answers.entries()) {
        const line = await answer;
        if (line !== `${['start', 'prepare', 'commit'][i]}: ok`) {
          throw new Error(`git update-ref failed: ${(line ?? this.stderr.trim()) || 'it exited'}`);
        }
      }
    } finally {
      signal.removeEventListener('abort', abort);
    }
  }

  close(): void {
    this.proc?.stdin.end();
    this.proc = null;
  }

  private reply(): Promise<string | null> {
    return new Promise((resolve) => this.replies.push(resolve));
  }

  private start(): ChildProcessByStdio<Writable, Readable, Readable> {
    if (this.proc) return this.proc;
    const proc = spawn('git', ['--git-dir', this.gitDir, 'update-ref', '--stdin'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = proc;
    this.stderr = '';
    proc.stdin.on('error', () => undefined); // a dead process answers null below
    proc.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-2048);
    });
    createInterface({ input: proc.stdout }).on('line', (line) => this.replies.shift()?.(line));
    proc.on('error', () => undefined);
    proc.on('close', () => {
      if (this.proc === proc) this.proc = null;
      for (const answer of this.replies.splice(0)) answer(null);
    });
    return proc;
  }
}
