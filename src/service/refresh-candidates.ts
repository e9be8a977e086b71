import type { DecisionRecord } from '../domain/index.ts';
import { IMAGE_ARTIFACT, type TaskFacts } from '../decision/lookup.ts';
import type { IndexedTask } from '../taskcluster/types.ts';

/** An image of a branch's last decided graph with the task that serves it there. */
export interface ServedImage {
  readonly repository: string;
  readonly ref: string;
  readonly rev: string;
  readonly image: string;
  readonly digest: string;
  readonly taskId: string;
  /** The expiry the decision saw (the hit's task, or the new task's definition): what a dry run judges by. */
  readonly recordedExpires: string | null;
  /** Where a push looks the image up, in order (empty in records made before nodes were kept). */
  readonly indexPaths: readonly string[];
}

/**
 * The images a decision serves with a task: reused from the Index, joined in flight, or
 * built. Not a dry run's (its ids name no task), not an uncached image (no digest to refresh).
 */
export function servedImages(record: DecisionRecord, repository: string, ref: string): ServedImage[] {
  if (record.dryRun) return [];
  const served: ServedImage[] = [];
  for (const image of record.images) {
    if (image.decision !== 'indexed' && image.decision !== 'in-flight' && image.decision !== 'build') continue;
    if (!image.taskId || !image.digest || image.dryRun) continue;
    const fact = image.facts.find((f) => f.taskId === image.taskId && f.expires !== undefined);
    const recordedExpires = image.decision === 'build' ? (image.definition?.expires ?? null) : (fact?.expires ?? null);
    served.push({
      repository,
      ref,
      rev: record.push.rev,
      image: image.name,
      digest: image.digest,
      taskId: image.taskId,
      recordedExpires,
      indexPaths: image.node?.indexPaths ?? [],
    });
  }
  return served;
}

const UNRESOLVED: ReadonlySet<string> = new Set(['unscheduled', 'pending', 'running']);

/**
 * The task a push would now be given for a served image: what the Index names at its first
 * path holding an unexpired entry of a task that serves (it may have been re-indexed since
 * the decision), unless the decision's own task is still to finish: that one is indexed
 * when it does.
 * `entries` is what `findTasksAtIndex` answered, expired entries included.
 */
export function servingTask(image: ServedImage, entries: ReadonlyMap<string, IndexedTask>, facts: ReadonlyMap<string, TaskFacts>, now: number): string {
  const state = facts.get(image.taskId)?.status?.state;
  if (state && UNRESOLVED.has(state)) return image.taskId;
  for (const path of image.indexPaths) {
    const entry = entries.get(path);
    // As a push's lookup: an entry whose task failed or is gone is passed over for the next path.
    if (entry && Date.parse(entry.expires) > now && currentExpiry(facts.get(entry.taskId)) !== null) return entry.taskId;
  }
  return image.taskId;
}

/**
 * When a task stops serving its image: its own expiry, or its `public/image.tar.zst`'s if
 * that comes first. null when it serves nothing to refresh: unknown to the Queue (expired
 * and removed), or failed (the next push builds it anyway).
 */
export function currentExpiry(facts: TaskFacts | undefined): string | null {
  const status = facts?.status;
  if (!status || status.state === 'failed' || status.state === 'exception') return null;
  const artifact = facts.artifacts.find((a) => a.name === IMAGE_ARTIFACT);
  const expires = artifact && Date.parse(artifact.expires) < Date.parse(status.expires) ? artifact.expires : status.expires;
  return new Date(expires).toISOString();
}
