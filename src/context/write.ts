import type { GitRepo } from '../tree/git-repo.ts';
import { GitTree } from '../tree/git-tree.ts';
import type { TreeSource } from '../tree/types.ts';
import type { BlobSpool, SpoolEntry, SpoolRequest } from './blob-spool.ts';
import type { IncludedFolder, IncludedFolders, SpooledFolder } from './included-folder.ts';
import type { PlanEntry, TreePlanEntry } from './plan-entry.ts';
import { ReadWindow } from './read-window.ts';
import { TarRun } from './tar-run.ts';
import { type ByteSink, type FileObserver, TarWriter } from './tar.ts';

/** How many file reads may be in flight ahead of the one being written (one file at a time). */
const WINDOW = 128;
/** Entries per run, where a source reads runs (`sendFiles`); the cached ones are held meanwhile. */
const RUN = 128;
/** Runs in flight at once: the next is asked for while one is written, so git never waits. */
const RUNS_AHEAD = 3;

/** A spooled folder's bytes go to the sink in references of at most this many bytes, waiting for it between them. */
const FOLDER_PIECE = 8 * 1024 * 1024;

/** Told what is written, in archive order: each file (as the tar writer writes it), or an included folder written whole. */
export interface WriteObserver {
  readonly file: FileObserver;
  folder(folder: IncludedFolder, spooled: SpooledFolder): void;
}

export interface WriteOptions {
  /** The size `context-too-large` allows. */
  readonly maxBytes?: number;
  /** Where included files are read from once per graph: the caller holds a lease of it (see below). */
  readonly spool?: BlobSpool | null;
  readonly observer?: WriteObserver;
  /** The graph's included folders, as the plan was made with: one wholly spooled is written as a few references. */
  readonly folders?: IncludedFolders;
}

/** An included folder in the plan whose every entry is spooled. */
interface FolderBlock {
  readonly folder: IncludedFolder;
  readonly spooled: SpooledFolder;
}

const isTreeEntry = (entry: PlanEntry | undefined, tree: TreeSource): entry is TreePlanEntry => entry !== undefined && 'tree' in entry.source && entry.source.tree === tree;

/**
 * Writes a planned context as a tar stream. Reads are pipelined: a source serves its calls
 * in order, so many are issued before the first is awaited; at a change of source the
 * earlier ones are awaited to keep the archive order. A source that reads runs of files
 * gets runs (included files come from `spool`, which is asked for all of them first); others
 * get one call per file. The caller holds a lease of the spool throughout (and, for a sink
 * that takes references, until the sink has read them).
 */
export async function writeContextTar(plan: readonly PlanEntry[], out: ByteSink, options: WriteOptions = {}): Promise<number> {
  const { spool = null, observer, folders } = options;
  const tar = new TarWriter(out, options.maxBytes ?? Infinity, observer?.file);
  const blocks = spool && folders && tar.takesRefs ? folderBlocks(plan, spool, folders) : new Map<number, FolderBlock>();
  const spooled = spool ? prefetch(plan, spool, blocks) : null;
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
      const block = blocks.get(i);
      if (block) {
        await drain();
        lastTree = null;
        observer?.folder(block.folder, block.spooled);
        await writeFolder(tar, spool!, block);
        i += block.folder.entries.length;
        continue;
      }
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
        while (end - i < RUN && isTreeEntry(plan[end], source.tree) && !blocks.has(end)) end += 1;
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

/** The plan's included folders that are spooled whole, by the position of their first entry. */
function folderBlocks(plan: readonly PlanEntry[], spool: BlobSpool, folders: IncludedFolders): Map<number, FolderBlock> {
  const blocks = new Map<number, FolderBlock>();
  for (let i = 0; i < plan.length; i++) {
    const folder = folders.startingAt(plan[i]!);
    const spooled = folder?.blockable && folder.spans(plan, i) ? folder.spooledIn(spool) : null;
    if (!spooled) continue;
    blocks.set(i, { folder: folder!, spooled });
    i += folder!.entries.length - 1;
  }
  return blocks;
}

/** A spooled folder's tar entries, by reference: the hashing thread reads them from the spool. */
async function writeFolder(tar: TarWriter, spool: BlobSpool, { folder, spooled }: FolderBlock): Promise<void> {
  const { ranges } = spooled;
  for (let r = 0; r < ranges.length; r += 2) {
    const offset = ranges[r]!;
    const length = ranges[r + 1]!;
    for (let at = 0; at < length; at += FOLDER_PIECE) {
      if (!tar.emitRef(spool.fd, offset + at, Math.min(FOLDER_PIECE, length - at))) await tar.drained();
    }
  }
  spool.hits += folder.entries.length;
  spool.folderHits += 1;
  tar.checkSize();
}

/**
 * Asks the spool for every included file of a git tree in the plan, before any is written: git
 * streams them into the spool (on its own thread) while the context's other files are read.
 * Answers, by plan position, the entry the spool holds or is reading for each (the context's
 * runs take them from here rather than looking each up again).
 */
function prefetch(plan: readonly PlanEntry[], spool: BlobSpool, blocks: ReadonlyMap<number, FolderBlock>): (SpoolEntry | undefined)[] {
  const spooled: (SpoolEntry | undefined)[] = new Array(plan.length);
  const byRepo = new Map<GitRepo, SpoolRequest[]>();
  const asked: number[] = [];
  for (let i = 0; i < plan.length; i++) {
    const block = blocks.get(i);
    if (block) {
      i += block.folder.entries.length - 1; // written from the spool whole
      continue;
    }
    const { name, mode, source } = plan[i]!;
    if (!('tree' in source) || !source.included || !source.entry.oid || !(source.tree instanceof GitTree)) continue;
    // Spooled or being read: most are, after a graph's first images.
    spooled[i] = spool.find(source.entry.oid, name, mode);
    if (spooled[i]) continue;
    let files = byRepo.get(source.tree.repo);
    if (!files) byRepo.set(source.tree.repo, (files = []));
    files.push({ oid: source.entry.oid, name, mode });
    asked.push(i);
  }
  for (const [repo, files] of byRepo) spool.prefetch(repo, files);
  for (const i of asked) {
    const { name, mode, source } = plan[i] as TreePlanEntry;
    spooled[i] = spool.find(source.entry.oid!, name, mode);
  }
  return spooled;
}
