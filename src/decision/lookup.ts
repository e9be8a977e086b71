import type { Artifact, IndexedTask, TaskStatus, Taskcluster } from '../taskcluster/types.ts';
import { handled } from '../context/handled.ts';
import type { LookupFact, LookupOutcome } from '../domain/index.ts';

export const IMAGE_ARTIFACT = 'public/image.tar.zst';

export interface TaskFacts {
  readonly status: TaskStatus | null;
  readonly artifacts: readonly Artifact[];
}

/** Whether an existing task can serve builds whose deadline is `deadline`. */
export function judgeTask(facts: TaskFacts, deadline: Date): LookupOutcome {
  const { status } = facts;
  if (!status) return 'task-missing';
  if (status.state === 'failed' || status.state === 'exception') return status.state;
  if (Date.parse(status.expires) <= deadline.getTime()) return 'expires-too-soon';
  const artifact = facts.artifacts.find((a) => a.name === IMAGE_ARTIFACT);
  if (!artifact) return 'artifact-missing';
  if (Date.parse(artifact.expires) <= deadline.getTime()) return 'artifact-expired';
  return 'hit';
}

/** The latest run of a completed task and its artifacts: a rerun is a new run, so they hold until then. */
interface CompletedRun {
  readonly runId: number;
  readonly artifacts: readonly Artifact[];
}

/**
 * Completed runs' artifacts by task id, oldest first out: a push that changes no image asks
 * about the same sixty tasks as the one before, and listing each one's artifacts was 60 of
 * its 62 requests. One per decider, so it lives and goes with the service that made it.
 */
export class CompletedRuns {
  private readonly runs = new Map<string, CompletedRun>();

  constructor(private readonly maxRuns = 10_000) {}

  get(taskId: string): CompletedRun | undefined {
    return this.runs.get(taskId);
  }

  has(taskId: string): boolean {
    return this.runs.has(taskId);
  }

  set(taskId: string, run: CompletedRun): void {
    this.runs.delete(taskId);
    this.runs.set(taskId, run);
    if (this.runs.size > this.maxRuns) this.runs.delete(this.runs.keys().next().value!);
  }

  delete(taskId: string): void {
    this.runs.delete(taskId);
  }
}

/**
 * Status and artifacts of each task in one round: the statuses in one request and, at the
 * same time, the artifacts of each task whose completed run is not remembered. A remembered
 * run is used only while the status still names it as the latest, completed run; otherwise
 * (a rerun since) its artifacts are listed again.
 */
export async function fetchTaskFacts(tc: Taskcluster, taskIds: Iterable<string>, runs: CompletedRuns = new CompletedRuns()): Promise<Map<string, TaskFacts>> {
  const ids = [...new Set(taskIds)];
  if (ids.length === 0) return new Map();
  const listed = new Map(ids.filter((id) => !runs.has(id)).map((id) => [id, handled(tc.queue.listLatestArtifacts(id))]));
  const statuses = await tc.queue.statuses(ids);
  const facts = await Promise.all(
    ids.map(async (id): Promise<TaskFacts> => {
      const status = statuses.get(id) ?? null;
      const latest = status ? status.runs.length - 1 : -1;
      const completed = status?.state === 'completed' && latest >= 0;
      const known = runs.get(id);
      if (known && completed && known.runId === latest) return { status, artifacts: known.artifacts };
      const artifacts = await (listed.get(id) ?? tc.queue.listLatestArtifacts(id));
      runs.delete(id);
      if (completed && artifacts.some((a) => a.name === IMAGE_ARTIFACT)) runs.set(id, { runId: latest, artifacts });
      return { status, artifacts };
    }),
  );
  return new Map(ids.map((id, i) => [id, facts[i]!]));
}

/** What the Index holds at some paths, and the facts of the tasks found there. */
export interface LookupSnapshot {
  readonly entries: ReadonlyMap<string, IndexedTask>;
  readonly tasks: ReadonlyMap<string, TaskFacts>;
}

/** Lookups started before the paths a plan needs were known (see look-ahead.ts). */
export interface Prefetch {
  /** The paths it asks the Index about. */
  readonly paths: ReadonlySet<string>;
  /** null when it failed: the plan then looks everything up itself. */
  readonly snapshot: Promise<LookupSnapshot | null>;
}

/** The entries at `paths`, then the facts of every task found: two rounds of concurrent requests. */
export async function lookUp(tc: Taskcluster, paths: readonly string[], runs?: CompletedRuns): Promise<LookupSnapshot> {
  const entries = await tc.index.findTasks(paths);
  const tasks = await fetchTaskFacts(
    tc,
    [...entries.values()].map((e) => e.taskId),
    runs,
  );
  return { entries, tasks };
}

/**
 * The same, reusing a prefetch: only the paths it did not ask about and the tasks it did not
 * see cost requests, the former asked while it is still in flight.
 */
async function lookUpWith(tc: Taskcluster, paths: readonly string[], prefetch: Prefetch | null | undefined, runs?: CompletedRuns): Promise<LookupSnapshot> {
  if (!prefetch) return lookUp(tc, paths, runs);
  const unasked = paths.filter((p) => !prefetch.paths.has(p));
  const [known, found] = await Promise.all([prefetch.snapshot, tc.index.findTasks(unasked)]);
  if (!known) return lookUp(tc, paths, runs);
  const entries = new Map([...known.entries, ...found]);
  const unseen = paths.map((p) => entries.get(p)?.taskId).filter((id): id is string => id !== undefined && !known.tasks.has(id));
  const tasks = await fetchTaskFacts(tc, unseen, runs);
  return { entries, tasks: new Map([...known.tasks, ...tasks]) };
}

export interface IndexCheck {
  /** The first usable path in lookup order. */
  readonly hit: { readonly path: string; readonly taskId: string } | null;
  /** Each path looked at, up to and including the hit. */
  readonly facts: readonly LookupFact[];
}

/**
 * Looks every image's index paths up in two rounds of concurrent requests: all paths at
 * once, then the status and artifacts of every task found. What a prefetch already asked
 * costs no request.
 */
export async function checkIndex(
  tc: Taskcluster,
  pathsByImage: ReadonlyMap<string, readonly string[]>,
  times: { readonly now: Date; readonly deadline: Date },
  prefetch?: Prefetch | null,
  runs?: CompletedRuns,
): Promise<Map<string, IndexCheck>> {
  const { entries, tasks } = await lookUpWith(tc, [...pathsByImage.values()].flat(), prefetch, runs);
  const checks = new Map<string, IndexCheck>();
  for (const [image, paths] of pathsByImage) checks.set(image, judgePaths(paths, entries, tasks, times));
  return checks;
}

function judgePaths(
  paths: readonly string[],
  entries: ReadonlyMap<string, IndexedTask>,
  tasks: ReadonlyMap<string, TaskFacts>,
  { now, deadline }: { readonly now: Date; readonly deadline: Date },
): IndexCheck {
  const facts: LookupFact[] = [];
  for (const path of paths) {
    const entry = entries.get(path);
    // findTasksAtIndex answers expired entries too (findTask would not): they are not indexed.
    if (!entry || Date.parse(entry.expires) <= now.getTime()) {
      facts.push({ path, outcome: 'not-indexed' });
      continue;
    }
    const task = tasks.get(entry.taskId)!;
    const outcome = judgeTask(task, deadline);
    facts.push({
      path,
      outcome,
      taskId: entry.taskId,
      ...(task.status ? { state: task.status.state, expires: task.status.expires } : {}),
    });
    if (outcome === 'hit') return { hit: { path, taskId: entry.taskId }, facts };
  }
  return { hit: null, facts };
}

const OUTCOME_TEXT: Record<LookupOutcome, string> = {
  hit: 'usable',
  'not-indexed': 'not indexed',
  failed: 'failed',
  exception: 'resolved as exception',
  'expires-too-soon': 'expires before the deadline of its dependents',
  'artifact-missing': `has no ${IMAGE_ARTIFACT}`,
  'artifact-expired': `has its ${IMAGE_ARTIFACT} expiring before the deadline`,
  'task-missing': 'is unknown to the Queue',
  'in-flight': 'is still building',
  'lower-level': 'was built at a lower level',
};

/** One readable clause per fact: `<path>: task X failed`. */
export function describeFact(fact: LookupFact): string {
  const subject = fact.taskId ? `task ${fact.taskId} ` : '';
  return `${fact.path}: ${subject}${OUTCOME_TEXT[fact.outcome]}`;
}
