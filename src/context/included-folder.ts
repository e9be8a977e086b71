import { compareCodePoints, pyJoin } from '../tree/paths.ts';
import { walkFiles } from '../tree/resolve.ts';
import type { TreeSource } from '../tree/types.ts';
import type { BlobSpool } from './blob-spool.ts';
import { entryJson, PartWriter } from './manifest-encoding.ts';
import { entryBytes } from './manifest.ts';
import { type TracedFacts, TracingTree } from './memo.ts';
import type { PlanEntry, TreePlanEntry } from './plan-entry.ts';

/** Where a folder's spooled entries are: a few ranges of the spool file (its entries are stored in archive order). */
export interface SpooledFolder {
  /** The spool's generation they belong to (emptying it makes another). */
  readonly generation: number;
  /** Offset and length pairs, in archive order. */
  readonly ranges: readonly number[];
  /** Each entry's file size, in archive order. */
  readonly sizes: readonly number[];
}

/**
 * The files one `# %include` of a folder brings into a context, in archive order: the same
 * entries in every context of a revision that includes it the same way. Planned once per
 * graph rather than once per image, and, once every one of them is spooled, written as a few
 * spool ranges and noted as one manifest part: a folder many images include costs each of the
 * later ones about nothing per file (issue 12's heavy profile: 4,000 files in 18 images).
 */
export class IncludedFolder {
  /** Every entry's name starts with this (it ends in "/"): the folder's entries are contiguous in archive order. */
  readonly prefix: string;
  /** False when one of its files has the setuid or setgid bit: written file by file, which refuses it in its place. */
  readonly blockable: boolean;
  private spooled: SpooledFolder | null = null;
  private part: PartWriter | null = null;
  private bound = -1;

  constructor(
    /** `topsrcdir/<include as written>`. */
    base: string,
    readonly include: string,
    readonly entries: readonly TreePlanEntry[],
    /** What listing it told the tracing tree (replayed into each context's trace). */
    readonly told: TracedFacts,
  ) {
    this.prefix = pyJoin(base, '');
    this.blockable = entries.every((e) => (e.mode & 0o6000) === 0);
  }

  /** Its entries as plan entries of `plan` from `start`: the very same objects, none left out or put between. */
  spans(plan: readonly unknown[], start: number): boolean {
    const { entries } = this;
    if (start + entries.length > plan.length) return false;
    for (let k = 0; k < entries.length; k++) if (plan[start + k] !== entries[k]) return false;
    return true;
  }

  /** Where every entry is in `spool`, or null while one is missing or still being read. */
  spooledIn(spool: BlobSpool): SpooledFolder | null {
    if (this.spooled?.generation === spool.generation) return this.spooled;
    const ranges: number[] = [];
    const sizes: number[] = [];
    for (const { name, mode, source } of this.entries) {
      const found = source.entry.oid ? spool.find(source.entry.oid, name, mode) : undefined;
      if (!found || found.pending || found.offset < 0) return null;
      const last = ranges.length - 2;
      if (last >= 0 && ranges[last]! + ranges[last + 1]! === found.offset) ranges[last + 1]! += found.length;
      else ranges.push(found.offset, found.length);
      sizes.push(found.size);
    }
    this.spooled = { generation: spool.generation, ranges, sizes };
    return this.spooled;
  }

  /** Its manifest part (entries spooled with these sizes): the text a context noting them one by one makes. */
  manifestPart(sizes: readonly number[]): PartWriter {
    if (this.part) return this.part;
    const part = new PartWriter(this.include);
    this.entries.forEach((e, k) => part.add(entryJson(e.name, e.mode, e.source.entry.oid, sizes[k]!)));
    this.part = part.finish();
    return this.part;
  }

  /** What the manifest bound counts for all its entries. */
  get boundBytes(): number {
    if (this.bound < 0) this.bound = this.entries.reduce((n, e) => n + entryBytes(e.name, this.include, e.source.entry.oid), 0);
    return this.bound;
  }
}

/**
 * The included folders of one graph's contexts, by where they are and how they are written:
 * made by the graph builder for one build (one revision), so nothing outlives it.
 */
export class IncludedFolders {
  private readonly folders = new Map<string, Promise<IncludedFolder>>();
  /** The cached folders by their first entry: how a writer knows one in a plan. */
  private readonly byFirst = new Map<TreePlanEntry, IncludedFolder>();
  /** The revision's tree they are read from: the first asked for (another is not cached). */
  private content: TreeSource | null = null;

  /**
   * The files under `path` (a real folder of `tree`), named under `base` (`topsrcdir/<written>`).
   * `content` is where their bytes are read from. Only a tree of one revision is cached: a plain
   * folder may change between two contexts.
   */
  folder(tree: TreeSource, content: TreeSource, path: string, written: string, base: string): Promise<IncludedFolder> {
    this.content ??= content;
    if (tree.revision === null || content !== this.content) return walkFolder(content, path, written, base);
    const key = `${path}\0${written}`;
    let folder = this.folders.get(key);
    if (!folder) {
      folder = walkFolder(content, path, written, base);
      folder.then(
        (walked) => walked.entries[0] && this.byFirst.set(walked.entries[0], walked),
        () => this.folders.delete(key),
      );
      this.folders.set(key, folder);
    }
    return folder;
  }

  /** The folder whose entries start with `entry`, if one of these does. */
  startingAt(entry: PlanEntry): IncludedFolder | undefined {
    return this.byFirst.get(entry as TreePlanEntry);
  }
}

async function walkFolder(content: TreeSource, path: string, written: string, base: string): Promise<IncludedFolder> {
  const traced = new TracingTree(content);
  const files = await walkFiles(traced, path, { skipPycache: true });
  const entries: TreePlanEntry[] = files.map((file) => ({
    name: pyJoin(base, file.rel),
    mode: file.entry.mode,
    source: { tree: content, path: file.path, entry: file.entry, included: true, include: written },
  }));
  entries.sort((a, b) => compareCodePoints(a.name, b.name));
  return new IncludedFolder(base, written, entries, traced.told());
}
