import { DeciderError } from '../errors.ts';
import { normaliseInside, pyJoin } from '../tree/paths.ts';
import { resolvePath, walkFiles } from '../tree/resolve.ts';
import type { TreeSource } from '../tree/types.ts';
import { ContextEntries } from './context-entries.ts';
import { RUN_TASK_FILES, processDockerfile } from './dockerfile.ts';
import { IncludedFolders } from './included-folder.ts';
import { TracingTree } from './memo.ts';
import type { PlanEntry, PlanSource } from './plan-entry.ts';

export interface ContextSpec {
  /** Repository-relative context folder, e.g. `taskcluster/docker/base`. */
  readonly contextDir: string;
  readonly args: Readonly<Record<string, string>>;
  /**
   * `# %include` lines its Dockerfile may hold (`limit-exceeded` beyond), set by the graph
   * builder from its limits; it travels with the spec because every caller of the planner
   * passes the spec through unchanged. Unset (a node of a graph already built, whose context
   * is served), nothing is counted: the builder checked it against its own limit.
   */
  readonly maxIncludes?: number;
}

export interface ContextLimits {
  readonly maxFiles: number;
}

export interface PlanOptions extends ContextLimits {
  /**
   * Where the planned files' contents are read from; defaults to `tree`. The hasher plans
   * through a tracing tree but reads from the tree beneath: a file's object id is already
   * pinned by the listing or lookup that found it, and tracing 100,000 reads is not free.
   */
  readonly contentTree?: TreeSource;
  /** The included folders of the graph this context is of: each planned once for all its contexts. */
  readonly folders?: IncludedFolders;
}

/** Resolves the context folder, or fails with `missing-dockerfile`. */
export async function resolveContextDir(tree: TreeSource, contextDir: string): Promise<string> {
  const normalised = normaliseInside(contextDir);
  const resolved = normalised === null ? null : await resolvePath(tree, normalised);
  if (!resolved || resolved.entry.kind !== 'dir') {
    throw new DeciderError('missing-dockerfile', `context folder ${contextDir} does not exist`);
  }
  return resolved.path;
}

/**
 * Every entry of an image's context in archive order, as taskgraph's
 * `stream_context_tar` assembles it: the context folder, its Dockerfile's
 * includes, the run-task files, and the processed Dockerfile.
 */
export async function planContext(tree: TreeSource, spec: ContextSpec, runTask: TreeSource | null, limits: PlanOptions): Promise<PlanEntry[]> {
  const content = limits.contentTree ?? tree;
  const folders = limits.folders ?? new IncludedFolders();
  const contextDir = await resolveContextDir(tree, spec.contextDir);
  const entries = new ContextEntries(limits.maxFiles, spec.contextDir);
  const add = (name: string, mode: number, source: PlanSource): void => entries.add({ name, mode, source });

  for (const file of await walkFiles(tree, contextDir, { skipPycache: true })) {
    add(file.rel, file.entry.mode, { tree: content, path: file.path, entry: file.entry });
  }
  const dockerfile = entries.get('Dockerfile');
  if (!dockerfile || !('tree' in dockerfile.source)) {
    throw new DeciderError('missing-dockerfile', `${spec.contextDir} has no Dockerfile`);
  }
  const processed = processDockerfile(
    // Read through `tree`: its content decides the includes, so it is traced as read.
    await tree.readFile(dockerfile.source.path),
    spec.args,
    `${spec.contextDir}/Dockerfile`,
    spec.maxIncludes ?? Number.POSITIVE_INFINITY,
  );

  for (const include of processed.includes) {
    const where = `${spec.contextDir}/Dockerfile:${include.line}`;
    const written = include.path;
    if (written.startsWith('/')) {
      throw new DeciderError('include-absolute', `${where}: extra include path cannot be absolute: ${written}`);
    }
    const normalised = normaliseInside(written);
    if (normalised === null) {
      throw new DeciderError('include-outside-tree', `${where}: extra include path outside the repository: ${written}`);
    }
    // No file name holds a NUL (taskgraph's os.path.exists says no): never ask a tree for one.
    const target = normalised.includes('\0') ? null : await resolvePath(tree, normalised);
    // "x/" names a folder: a file there does not exist, as for os.path.exists.
    if (!target || (written.endsWith('/') && target.entry.kind !== 'dir')) {
      throw new DeciderError('include-missing', `${where}: extra include path does not exist: ${written}`);
    }
    const base = pyJoin('topsrcdir', written);
    if (target.entry.kind === 'dir') {
      const folder = await folders.folder(tree, content, target.path, written, base);
      // What walking it tells a tracing tree, told to this context's as if it had walked it.
      if (tree instanceof TracingTree) tree.adopt(folder.told);
      entries.addFolder(folder);
    } else {
      add(base, target.entry.mode, { tree: content, path: target.path, entry: target.entry, included: true, include: written });
    }
  }

  if (processed.runTask) {
    if (!runTask) {
      throw new DeciderError('include-run-task-unconfigured', `${spec.contextDir}/Dockerfile uses # %include-run-task but no run-task folder is configured`);
    }
    for (const name of RUN_TASK_FILES) {
      const file = await resolvePath(runTask, name);
      if (!file || file.entry.kind !== 'file') {
        throw new DeciderError('include-run-task-unconfigured', `the run-task folder ${runTask.description} has no ${name}`);
      }
      add(`run-task/${name}`, file.entry.mode, { tree: runTask, path: file.path, entry: file.entry });
    }
  }

  add('Dockerfile', 0o644, { data: processed.content });
  return entries.sorted();
}
