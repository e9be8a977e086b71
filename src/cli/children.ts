import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** This process's child processes, from /proc (Linux); none where it cannot be read. */
export function childPids(): number[] {
  const pids = new Set<number>();
  try {
    for (const thread of readdirSync('/proc/self/task')) {
      for (const pid of readFileSync(`/proc/self/task/${thread}/children`, 'utf8').split(' ')) if (pid.trim()) pids.add(Number(pid));
    }
  } catch {
    // not Linux, or /proc not mounted: the sources' own close() is all there is
  }
  return [...pids];
}

/**
 * Ends every child process still running (a `git cat-file` of a source not yet closed when a
 * signal came) and waits, at most `ms`, until Node has reaped each: none is left to whoever
 * adopts orphans, alive or as a zombie.
 */
export async function reapChildren(ms = 2000): Promise<void> {
  const pids = childPids();
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + ms;
  while (pids.some((pid) => existsSync(`/proc/${pid}`)) && Date.now() < deadline) await sleep(5);
}
