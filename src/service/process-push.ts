import type { DecisionRecord, PushRecord } from '../domain/index.ts';
import { DeciderError } from '../errors.ts';
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
    // The Index lookups of a push that changes no image overlap the fetch.
    const prefetch = repo.decider.lookAhead(push.level, push.pullRequest);
    const commit = await repo.mirror.resolve(push.rev);
    phase('revisionMs');
    // Both settle before either's failure is reported: no update of the push outlives this call.
    const [noted, built] = await Promise.allSettled([onResolved(commit.sha), repo.buildGraph(commit, push.level, push.pullRequest, new Date(push.receivedAt))]);
    if (noted.status === 'rejected') throw noted.reason;
    if (built.status === 'rejected') throw built.reason;
    const graph = built.value;
    phase('graphMs');
    const recordedAt = new Date().toISOString();
    // The graph's manifests are written while the push plans (planning compares with earlier
    // ones, and takes this graph's from memory); both settle before either's failure counts.
    const [recorded, planned] = await Promise.allSettled([
      repo.recordManifests(graph),
      (async () => {
        await store.recordContexts(
          graph.images
            .filter((image) => image.kind === 'build' && image.contextHash)
            .map((image) => ({ contextHash: image.contextHash!, repository: repo.config.name, rev: commit.sha, image: image.name, algorithm: graph.algorithm, recordedAt })),
        );
        return repo.decider.plan({
          decisionId: push.id,
          push: repo.pushContext(commit.sha, push.ref, push.level, push.pullRequest, push.owner),
          graph,
          // When the push was received, as taskgraph's `build_date`: routes and rank carry it.
          pushDate: new Date(push.receivedAt),
          ...(push.force ? { force: push.force } : {}),
          prefetch,
          lineage: repo.lineage(commit.sha, store),
        });
      })(),
    ]);
    if (recorded.status === 'rejected') throw recorded.reason;
    if (planned.status === 'rejected') throw planned.reason;
    record = planned.value;
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
