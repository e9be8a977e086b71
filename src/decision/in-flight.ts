import type { ImageNode } from '../graph/types.ts';
import type { DecisionStore, LookupFact, PlannedTask, PushContext } from '../domain/index.ts';
import type { Taskcluster } from '../taskcluster/types.ts';
import { type CompletedRuns, type TaskFacts, fetchTaskFacts, judgeTask } from './lookup.ts';

export interface InFlightCheck {
  readonly reuse: { readonly decision: 'in-flight' | 'indexed'; readonly taskId: string; readonly reason: string } | null;
  readonly facts: readonly LookupFact[];
}

/**
 * Builds of the same digest that this service created and that are not over: the Index
 * only records a task once it completes, so without this every push during a long build
 * would start another one. Builds found to be over are no longer considered.
 */
export async function checkInFlight(
  tc: Taskcluster,
  store: DecisionStore,
  nodes: readonly ImageNode[],
  push: PushContext,
  deadline: Date,
  runs?: CompletedRuns,
): Promise<Map<string, InFlightCheck>> {
  const builds = await Promise.all(nodes.map((n) => store.findActiveBuild({ digest: n.digest!, level: push.level, pullRequest: push.pullRequest })));
  const facts = await fetchTaskFacts(
    tc,
    builds.filter((b) => b !== null).map((b) => b.taskId),
    runs,
  );
  const checks = new Map<string, InFlightCheck>();
  await Promise.all(
    nodes.map(async (node, i) => {
      const build = builds[i];
      if (build) checks.set(node.name, await judgeBuild(store, build, facts.get(build.taskId)!, deadline));
    }),
  );
  return checks;
}

async function judgeBuild(store: DecisionStore, build: PlannedTask, facts: TaskFacts, deadline: Date): Promise<InFlightCheck> {
  const path = `in-flight:${build.digest}`;
  const { taskId } = build;
  const state = facts.status?.state;
  // A dependency must outlive its dependents' deadline (the Queue refuses it otherwise).
  const expires = facts.status?.expires ?? build.definition.expires;
  if (expires !== undefined && Date.parse(expires) <= deadline.getTime() && (!facts.status || state === 'unscheduled' || state === 'pending' || state === 'running')) {
    // Deadlines only move later, so no later decision can use it either.
    await store.deactivate(taskId);
    return { reuse: null, facts: [{ path, outcome: 'expires-too-soon', taskId, ...(state ? { state } : {}), expires }] };
  }
  if (!facts.status) {
    if (build.state === 'planned') {
      // Planned by another decision and not sent yet: it will be, by whichever submits first.
      const reason = `in flight: task ${taskId} (level ${build.level}) is planned by decision ${build.decisionId}`;
      return { reuse: { decision: 'in-flight', taskId, reason }, facts: [{ path, outcome: 'in-flight', taskId }] };
    }
    await store.deactivate(taskId);
    return { reuse: null, facts: [{ path, outcome: 'task-missing', taskId }] };
  }
  if (state === 'unscheduled' || state === 'pending' || state === 'running') {
    const reason = `in flight: task ${taskId} (level ${build.level}) is ${state}`;
    return { reuse: { decision: 'in-flight', taskId, reason }, facts: [{ path, outcome: 'in-flight', taskId, state }] };
  }
  const outcome = judgeTask(facts, deadline);
  const fact: LookupFact = { path, outcome, taskId, state, expires: facts.status.expires };
  await store.deactivate(taskId);
  if (outcome === 'hit') {
    const reason = `built by task ${taskId} of this service (completed; the Index may not list it yet)`;
    return { reuse: { decision: 'indexed', taskId, reason }, facts: [fact] };
  }
  return { reuse: null, facts: [fact] };
}
