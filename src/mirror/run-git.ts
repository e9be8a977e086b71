import { spawn } from 'node:child_process';
import { once } from 'node:events';

export interface GitRun {
  readonly code: number | null;
  readonly timedOut: boolean;
  /** The tail of git's stderr. */
  readonly stderr: string;
}

/**
 * Runs git in a process group of its own, so a hard timeout ends it whole: `git fetch`
 * leaves the transfer to a `git-remote-https` or `ssh` child that killing git alone would
 * leave running. `config` reaches git through its environment (`GIT_CONFIG_COUNT`), as do
 * `env`'s secrets: neither is on a command line for `ps` to show.
 */
export async function runGit(
  args: readonly string[],
  options: { timeoutMs: number; config?: ReadonlyArray<readonly [string, string]>; env?: Record<string, string> },
): Promise<GitRun> {
  const entries = options.config ?? [];
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_COUNT: String(entries.length) };
  entries.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  const proc = spawn('git', args, { stdio: ['ignore', 'ignore', 'pipe'], env, detached: true });
  let tail = '';
  proc.stderr.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-2048);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-proc.pid!, 'SIGKILL');
    } catch {
      // the group has already gone
    }
  }, options.timeoutMs);
  try {
    const [code] = (await once(proc, 'close')) as [number | null];
    return { code, timedOut, stderr: tail.trim() };
  } finally {
    clearTimeout(timer);
  }
}
