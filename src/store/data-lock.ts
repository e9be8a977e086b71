import { link, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DeciderError } from '../errors.ts';

/** The process holding a data folder's embedded store. */
interface Holder {
  readonly pid: number;
  /** Tells this lock from an earlier one of the same pid. */
  readonly token: string;
}

/** Whether process `pid` is alive on this host (EPERM: alive, someone else's). */
function alive(pid: number): boolean {
  // A lock naming this very process is one left by an earlier process with our pid (a
  // container restarted: the service is pid 1 again), not one we hold.
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function holderOf(path: string): Promise<Holder | null> {
  try {
    const holder = JSON.parse(await readFile(path, 'utf8')) as Partial<Holder>;
    return Number.isInteger(holder.pid) ? (holder as Holder) : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // Unreadable or not ours: written whole (see below), so not a lock being taken: stale.
    return { pid: -1, token: '' };
  }
}

/** A held lock; `release` removes it (only if still ours). */
export interface DataLock {
  release(): Promise<void>;
}

/**
 * Makes a data folder's embedded store exclusive to this process: PGlite is one process's
 * database, and two processes on one folder each accept webhooks the other never sees (and
 * one loses them at the next restart). The lock file names its holder's pid; a lock whose
 * process is gone (killed, crashed) is taken over. Processes on other hosts (a shared
 * volume) are not seen: use PostgreSQL (DATABASE_URL) to run several.
 */
export async function lockDataFolder(dataDir: string): Promise<DataLock> {
  const path = join(dataDir, 'store.lock');
  const mine: Holder = { pid: process.pid, token: randomUUID() };
  // Written whole under a private name, then linked into place: link fails if the lock
  // exists, atomically, and a lock that exists is never half-written.
  const draft = `${path}.${mine.token}`;
  await writeFile(draft, JSON.stringify(mine));
  try {
    for (let tries = 0; ; tries++) {
      try {
        await link(draft, path);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries >= 3) throw err;
      }
      const holder = await holderOf(path);
      if (holder && alive(holder.pid)) {
        throw new DeciderError(
          'conflict',
          `the data folder ${dataDir} is in use by process ${holder.pid} (its embedded store is one process's; stop that one, or use DATABASE_URL to run several)`,
        );
      }
      // Its holder is gone: the lock is stale.
      await unlink(path).catch(() => undefined);
    }
  } finally {
    await rm(draft, { force: true });
  }
  return {
    async release() {
      const holder = await holderOf(path);
      if (holder?.pid === mine.pid && holder.token === mine.token) await rm(path, { force: true });
    },
  };
}
