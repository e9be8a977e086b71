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

function refuseIfHeld(path: string, dataDir: string): Promise<void> {
  return holderOf(path).then((holder) => {
    if (holder && alive(holder.pid)) {
      throw new DeciderError(
        'conflict',
        `the data folder ${dataDir} is in use by process ${holder.pid} (its embedded store is one process's; stop that one, or use DATABASE_URL to run several)`,
      );
    }
  });
}

/**
 * Removes a stale lock under a baton (`store.lock.takeover`, linked as the lock is): of two
 * processes starting at once after a crash, only one removes it, and the other then finds
 * the lock held. Without the baton, the slower one could remove the lock the faster one had
 * just taken, and both would run. A baton left by a process that died holding it is removed.
 */
async function takeOverStale(path: string, draft: string, dataDir: string): Promise<void> {
  const baton = `${path}.takeover`;
  try {
    await link(draft, baton);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const other = await holderOf(baton);
    if (!other || !alive(other.pid)) await unlink(baton).catch(() => undefined);
    // Another process is taking the lock over (or has): the next try finds it held.
    else await new Promise((resolve) => setTimeout(resolve, 50));
    return;
  }
  try {
    // Under the baton: still stale? (It may have been taken over just before.)
    await refuseIfHeld(path, dataDir);
    await unlink(path).catch(() => undefined);
  } finally {
    await unlink(baton).catch(() => undefined);
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
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries >= 20) throw err;
      }
      await refuseIfHeld(path, dataDir);
      await takeOverStale(path, draft, dataDir);
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
