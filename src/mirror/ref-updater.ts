import { createInterface } from 'node:readline';
import { type GitProcess, spawnGit } from './git-process.ts';

interface Updater {
  proc: GitProcess;
  /** Waiting for the process's next answer line; null once it has exited. */
  replies: ((line: string | null) => void)[];
  stderr: () => string;
}

const STEPS = ['start', 'prepare', 'commit'] as const;

/**
 * One long-lived `git update-ref --stdin`, one transaction per fetch (`start` ... `commit`):
 * a process start per fetch costs more here than the update. A failed transaction ends the
 * process (git dies on it); the next update starts another.
 */
export class RefUpdater {
  private current: Updater | null = null;

  constructor(private readonly gitDir: string) {}

  /** Moves every ref to its oid, all or none. */
  async update(updates: ReadonlyMap<string, string>, signal: AbortSignal): Promise<void> {
    const updater = this.start();
    const answers = STEPS.map(() => new Promise<string | null>((resolve) => updater.replies.push(resolve)));
    const commands = ['start', ...[...updates].map(([ref, oid]) => `update ${ref} ${oid}`), 'prepare', 'commit'];
    updater.proc.stdin.write(`${commands.join('\n')}\n`);
    const abort = () => this.stop(updater);
    if (signal.aborted) abort();
    signal.addEventListener('abort', abort, { once: true });
    try {
      for (const [i, answer] of answers.entries()) {
        const line = await answer;
        if (line !== `${STEPS[i]}: ok`) {
          this.stop(updater); // whatever it answers next belongs to this transaction
          throw new Error(`git update-ref failed: ${(line ?? updater.stderr()) || 'it exited'}`);
        }
      }
    } finally {
      signal.removeEventListener('abort', abort);
    }
  }

  close(): void {
    this.current?.proc.stdin.end();
    this.current = null;
  }

  private stop(updater: Updater): void {
    if (this.current === updater) this.current = null;
    updater.proc.kill('SIGKILL');
  }

  private start(): Updater {
    if (this.current) return this.current;
    const { proc, stderr } = spawnGit(['--git-dir', this.gitDir, 'update-ref', '--stdin']);
    const updater: Updater = { proc, replies: [], stderr };
    this.current = updater;
    createInterface({ input: proc.stdout }).on('line', (line) => updater.replies.shift()?.(line));
    proc.on('error', () => undefined);
    proc.on('close', () => {
      if (this.current === updater) this.current = null;
      for (const answer of updater.replies.splice(0)) answer(null);
    });
    return updater;
  }
}
