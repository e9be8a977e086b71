import type { DecisionRecord } from '../decision/types.ts';
import { DeciderError } from '../errors.ts';
import type { PushRecord } from '../store/push-types.ts';
import type { ServiceStore } from '../store/service-store.ts';
import type { RepositoryRuntime } from './repositories.ts';

/**
 * Decides one claimed push: the revision from the mirror, the graph, the plan (kept under
 * the push's id, so a retry after a crash resumes it rather than planning again), then
 * the submission.
 */
export async function processPush(
  push: PushRecord,
  repos: ReadonlyMap<string, RepositoryRuntime>,
  store: ServiceStore,
  onResolved: (sha: string) => Promise<void>,
  phases: Record<string, number> = {},
): Promise<DecisionRecord> {
  let mark = performance.now();
  const phase = (name: string) => {
    const now = performance.now();
    phases[name] = Math.round(now - mark);
    mark = now;
  };
  const repo = repos.get(push.repository);
  if (!repo) throw new DeciderError('repository-unreadable', `repository ${push.repository} is no longer configured`);
  let record = await store.getDecision(push.id);
  if (!record) {
    const commit = await repo.mirror.resolve(push.rev);
    await onResolved(commit.sha);
    phase('revisionMs');
    const graph = await repo.graph(commit, push.level, push.pullRequest);
    phase('graphMs');
    const recordedAt = new Date().toISOString();
    await store.recordContexts(
      graph.images
        .filter((image) => image.kind === 'build' && image.contextHash)
        .map((image) => ({ contextHash: image.contextHash!, repository: repo.config.name, rev: commit.sha, image: image.name, algorithm: graph.algorithm, recordedAt })),
    );
    record = await repo.decider.plan({
      decisionId: push.id,
      push: repo.pushContext(commit.sha, push.ref, push.level, push.pullRequest, push.owner),
      graph,
      pushDate: new Date(commit.time * 1000),
      ...(push.force ? { force: push.force } : {}),
    });
    phase('planMs');
  }
  const decided = await repo.decider.submit(record);
  phase('submitMs');
  return decided;
}

/** Image counts by decision, for push lists. */
export function decisionCounts(record: DecisionRecord): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const image of record.images) counts[image.decision] = (counts[image.decision] ?? 0) + 1;
  return counts;
}
