import type { GitRepo } from '../tree/git-repo.ts';
import { GitTree } from '../tree/git-tree.ts';
import type { TreeSource } from '../tree/types.ts';
import type { BlobSpool, SpoolEntry, SpoolRequest } from './blob-spool.ts';
import type { PlanEntry, TreePlanEntry } from './plan.ts';
import { ReadWindow } from './read-window.ts';
import { TarRun } from './tar-run.ts';
import { type ByteSink, type FileObserver, TarWriter } from './tar.ts';

/** How many file reads may be in flight ahead of the one being written (one file at a time). */
const WINDOW = 128;
/** Entries per run, where a source reads runs (`sendFiles`); the cached ones are held meanwhile. */
const RUN = 128;
/** Runs in flight at once: the next is asked for while one is written, so git never waits. */
const RUNS_AHEAD = 3;

const isTreeEntry = (entry: PlanEntry | undefined, tree: TreeSource): entry is TreePlanEntry => entry !== undefined && 'tree' in entry.source && entry.source.tree === tree;

/**
 * Writes a planned context as a tar stream. Reads are pipelined: a source serves its calls
 * in order, so many are issued before the first is awaited; at a change of source the
 * earlier ones are awaited to keep the archive order. A source that reads runs of files
 * gets runs (included files come from `spool`, which is asked for all of them first); others
 * get one call per file. The caller holds a lease of the spool throughout (and, for a sink
 * that takes references, until the sink has read them).
 */
export async function writeContextTar(plan: readonly PlanEntry[], out: ByteSink, maxBytes = Infinity, spool: BlobSpool | null = null, onFile?: FileObserver): Promise<number> {
  const tar = new TarWriter(out, maxBytes, onFile);
  const spooled = spool ? prefetch(plan, spool) : null;
  const window = new ReadWindow(WINDOW);
  const runs = new ReadWindow(RUNS_AHEAD);
  let lastTree: TreeSource | null = null;
  const drain = async () => {
    await window.drain();
    await runs.drain();
  };
  try {
    for (let i = 0; i < plan.length;) {
      const entry = plan[i]!;
      const { source } = entry;
      if (!('tree' in source)) {
        await drain();
        lastTree = null;
        await tar.bytes(entry.name, entry.mode, source.data);
        i += 1;
        continue;
      }
      if (source.tree !== lastTree) await drain();
      lastTree = source.tree;
      if (source.tree.sendFiles) {
        // Spooled entries go to a sink that takes references without asking the source to
        // wait: what is queued is bounded here, a run at a time (the runs in flight go on).
        if (tar.takesRefs) await tar.drained();
        let end = i + 1;
        while (end - i < RUN && isTreeEntry(plan[end], source.tree)) end += 1;
        const run = new TarRun(tar, plan as readonly TreePlanEntry[], i, end, spool, spooled);
        if (run.wait) {
          // The spool is reading this file now: wait for it (one read per graph).
          await run.wait;
          continue;
        }
        i += run.length;
        if (run.reads.length > 0) {
          await runs.push(source.tree.sendFiles(run.reads, run));
        } else {
          await runs.drain();
          run.writeKnown();
          await tar.drained();
        }
        continue;
      }
      await window.push(source.tree.sendFile(source.path, source.entry, tar.file(entry.name, entry.mode)));
      tar.checkSize();
      i += 1;
    }
    await drain();
  } catch (err) {
    await window.abandon();
    await runs.abandon();
    throw err;
  }
  tar.checkSize();
  await tar.finish();
  return tar.bytesWritten;
}

/**
 * Asks the spool for every included file of a git tree in the plan, before any is written: git
 * streams them into the spool (on its own thread) while the context's other files are read.
 * Answers, by plan position, the entry the spool holds or is reading for each (the context's
 * runs take them from here rather than looking each up again).
 */
function prefetch(plan: readonly PlanEntry[], spool: BlobSpool): (SpoolEntry | undefined)[] {
  const spooled: (SpoolEntry | undefined)[] = new Array(plan.length);
  const byRepo = new Map<GitRepo, SpoolRequest[]>();
  const asked: number[] = [];
  plan.forEach(({ name, mode, source }, i) => {
    if (!('tree' in source) || !source.included || !source.entry.oid || !(source.tree instanceof GitTree)) return;
    // Spooled or being read: most are, after a graph's first images.
    spooled[i] = spool.find(source.entry.oid, name, mode);
    if (spooled[i]) return;
    let files = byRepo.get(source.tree.repo);
    if (!files) byRepo.set(source.tree.repo, (files = []));
    files.push({ oid: source.entry.oid, name, mode });
    asked.push(i);
  });
  for (const [repo, files] of byRepo) spool.prefetch(repo, files);
  for (const i of asked) {
    const { name, mode, source } = plan[i] as TreePlanEntry;
    spooled[i] = spool.find(source.entry.oid!, name, mode);
  }
  return spooled;
}
