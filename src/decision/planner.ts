import { isDeciderError } from '../errors.ts';
import type { ImageGraph, ImageNode } from '../graph/types.ts';
import type { DecisionStore, ImageDecision, LookupFact, PlannedTask, PushContext } from '../domain/index.ts';
import type { Taskcluster } from '../taskcluster/types.ts';
import { type InFlightCheck, checkInFlight } from './in-flight.ts';
import { type CompletedRuns, IMAGE_ARTIFACT, type IndexCheck, type Prefetch, checkIndex, describeFact } from './lookup.ts';
import type { DecisionSettings } from './settings.ts';
import { storableNode, unstorableProblem } from './storable.ts';
import { taskInput } from './task-input.ts';
import { type TaskTemplate, taskTimes } from './template.ts';

export const UNCACHED_REASON = 'cache: false in the kind file: never looked up or indexed, built in every graph that needs it';

/**
 * What a planned build is shared by: its digest, or for an uncached image one push's
 * decision (a second plan of the same push, after a crash, finds the first's task; no other
 * push may use it, as taskgraph builds an uncached image in every graph).
 */
function buildKey(node: ImageNode, decisionId: string): string {
  return node.cache === false ? `uncached:${decisionId}:${node.name}` : node.digest!;
}

export interface PlannerDeps {
  readonly taskcluster: Taskcluster | null;
  readonly store: DecisionStore;
  readonly template: TaskTemplate;
  readonly settings: DecisionSettings;
  readonly newTaskId: () => string;
  /** The decider's memory of completed runs' artifacts, shared with its look-ahead. */
  readonly completedRuns: CompletedRuns;
}

export interface PlanInput {
  readonly decisionId: string;
  readonly taskGroupId: string;
  readonly push: PushContext;
  readonly graph: ImageGraph;
  readonly pushDate: Date;
  /** Images rebuilt whatever the Index holds. */
  readonly forced: ReadonlySet<string>;
  /** The forced images' reason, when the force says why (a refresh); else `forced rebuild`. */
  readonly forceReason?: string;
  readonly now: Date;
  /** Lookups already started for (some of) the graph's index paths. */
  readonly prefetch?: Prefetch | null;
}

/**
 * Decides each image of a graph, parents first: reuse an indexed build, join one in
 * flight, or plan a new task (stored with its full definition before anything is sent).
 */
export class Planner {
  constructor(private readonly deps: PlannerDeps) {}

  async plan(input: PlanInput): Promise<ImageDecision[]> {
    const { graph, now, forced } = input;
    const tc = this.deps.taskcluster;
    const deadline = new Date(now.getTime() + this.deps.settings.deadlineMinutes * 60_000);
    const own = tc ? await this.earlierPlan(input) : new Map<string, PlannedTask>();
    // An uncached image (`cache: false`) has no digest: nothing to look up, nothing to join.
    // One an earlier attempt of this decision planned is decided already: built by that task.
    const candidates = graph.images.filter((n) => n.kind === 'build' && n.cache !== false && !forced.has(n.name) && !own.has(n.name));
    const pathsByImage = new Map(candidates.map((n) => [n.name, n.indexPaths]));
    const indexed = tc ? await checkIndex(tc, pathsByImage, { now, deadline }, input.prefetch, this.deps.completedRuns) : new Map<string, IndexCheck>();
    const notIndexed = candidates.filter((n) => !indexed.get(n.name)?.hit);
    const inFlight = tc ? await checkInFlight(tc, this.deps.store, notIndexed, input.push, deadline, this.deps.completedRuns) : new Map<string, InFlightCheck>();

    const decided = new Map<string, ImageDecision>();
    for (const node of graph.images) {
      const earlier = own.get(node.name);
      const decision = earlier ? this.planned(node, earlier, input) : await this.decideImage(node, decided, input, indexed.get(node.name), inFlight.get(node.name));
      decided.set(node.name, decision);
    }
    return [...decided.values()];
  }

  /**
   * The tasks an earlier attempt of this decision planned and never sent (it stopped before
   * its record was stored), by image: still this decision's builds, to be submitted by it.
   * Found by another lookup they would pass for builds in flight that nobody is going to
   * send. One that no longer fits its image (the graph changed: a new builder image, say) is
   * deactivated instead, so that nothing joins it; it is never sent.
   */
  private async earlierPlan(input: PlanInput): Promise<Map<string, PlannedTask>> {
    const byName = new Map(input.graph.images.map((n) => [n.name, n]));
    const own = new Map<string, PlannedTask>();
    for (const task of await this.deps.store.tasksOfDecision(input.decisionId)) {
      if (task.state !== 'planned' || !task.active) continue;
      const node = byName.get(task.image);
      const fits = node?.kind === 'build' && buildKey(node, input.decisionId) === task.digest && !own.has(task.image);
      if (fits) own.set(task.image, task);
      else await this.deps.store.deactivate(task.taskId);
    }
    return own;
  }

  /** An image whose build an earlier attempt of this decision planned: that task, as planned. */
  private planned(node: ImageNode, task: PlannedTask, input: PlanInput): ImageDecision {
    const forced = input.forced.has(node.name);
    return {
      ...this.base(node),
      decision: 'build',
      reason: `planned as task ${task.taskId} by an earlier attempt of this decision, not sent yet: sent now`,
      taskId: task.taskId,
      // The parent the task was rendered with (its dependency), as the definition sent names it.
      parentTaskId: task.input.parentTaskId,
      definition: task.definition,
      artifactUrl: this.artifactUrl(task.taskId),
      ...(forced ? { forced } : {}),
    };
  }

  private async decideImage(
    node: ImageNode,
    decided: ReadonlyMap<string, ImageDecision>,
    input: PlanInput,
    index: IndexCheck | undefined,
    inFlight: InFlightCheck | undefined,
  ): Promise<ImageDecision> {
    // Before anything of it is stored: its record and task could not be.
    const unstorable = unstorableProblem(node);
    if (unstorable) {
      const refused: ImageNode = { ...storableNode(node), kind: 'error', error: unstorable };
      return { ...this.base(refused), decision: 'error', reason: unstorable.message, error: unstorable };
    }
    const base = this.base(node);
    if (node.kind === 'registry') return { ...base, decision: 'registry', reason: `prebuilt registry image ${node.reference}` };
    if (node.kind === 'error') return { ...base, decision: 'error', reason: node.error!.message, error: node.error! };
    const parent = node.parent ? decided.get(node.parent) : undefined;
    if (node.kind === 'blocked' || parent?.decision === 'error' || parent?.decision === 'blocked') {
      const cause = node.error ?? parent?.error ?? { code: 'parent-unbuildable' as const, message: `${node.parent} cannot be built` };
      return { ...base, decision: 'blocked', reason: `blocked: ${node.blockedBy ?? node.parent} is in error`, error: cause };
    }
    const facts: LookupFact[] = [...(index?.facts ?? []), ...(inFlight?.facts ?? [])];
    if (index?.hit) {
      return this.reuse(base, 'indexed', index.hit.taskId, parent, facts, `indexed at ${index.hit.path} (task ${index.hit.taskId})`);
    }
    if (inFlight?.reuse) return this.reuse(base, inFlight.reuse.decision, inFlight.reuse.taskId, parent, facts, inFlight.reuse.reason);
    const forced = input.forced.has(node.name);
    const why = forced
      ? (input.forceReason ?? 'forced rebuild')
      : node.cache === false
        ? UNCACHED_REASON
        : !this.deps.taskcluster
          ? 'dry run: the Index was not consulted'
          : `no reusable build: ${facts.map(describeFact).join('; ') || 'no index paths'}`;
    return this.build(node, base, parent, facts, why, forced, input);
  }

  private base(node: ImageNode) {
    return { name: node.name, facts: [], taskId: null, parentTaskId: null, contextHash: node.contextHash, digest: node.digest, artifactUrl: null, node };
  }

  private artifactUrl(taskId: string): string | null {
    return this.deps.taskcluster?.queue.artifactUrl(taskId, IMAGE_ARTIFACT) ?? null;
  }

  private reuse(
    base: ReturnType<Planner['base']>,
    decision: 'indexed' | 'in-flight',
    taskId: string,
    parent: ImageDecision | undefined,
    facts: LookupFact[],
    reason: string,
  ): ImageDecision {
    return { ...base, decision, reason, facts, taskId, parentTaskId: parent?.taskId ?? null, artifactUrl: this.artifactUrl(taskId) };
  }

  private async build(
    node: ImageNode,
    base: ReturnType<Planner['base']>,
    parent: ImageDecision | undefined,
    facts: LookupFact[],
    reason: string,
    forced: boolean,
    input: PlanInput,
  ): Promise<ImageDecision> {
    const { push, graph, now } = input;
    const parentTaskId = parent?.taskId ?? null;
    // A parent still to be built must finish first; an indexed one already has.
    const waitsOnParent = parentTaskId !== null && (parent!.decision === 'build' || parent!.decision === 'in-flight');
    const taskId = this.deps.newTaskId();
    const rank = Math.floor((forced ? now : input.pushDate).getTime() / 1000);
    const trustDomain = graph.trustDomain ?? push.repository;
    const task = taskInput({
      node,
      push,
      settings: this.deps.settings,
      trustDomain,
      taskGroupId: input.taskGroupId,
      parentTaskId,
      dependencies: waitsOnParent ? [parentTaskId] : [],
      rank,
    });
    let definition;
    try {
      definition = this.deps.template.render(task, taskTimes(now, push.level, this.deps.settings.deadlineMinutes));
    } catch (err) {
      if (!isDeciderError(err)) throw err;
      return { ...base, decision: 'error', reason: err.message, facts, error: err.toJSON() };
    }
    const decision = { ...base, decision: 'build' as const, reason, facts, taskId, parentTaskId, definition, ...(forced ? { forced } : {}) };
    if (!this.deps.taskcluster) return { ...decision, dryRun: true };
    const plannedTask = {
      taskId,
      decisionId: input.decisionId,
      image: node.name,
      digest: buildKey(node, input.decisionId),
      level: push.level,
      pullRequest: push.pullRequest,
      definition,
      input: task,
      state: 'planned' as const,
      active: true,
      createdAt: now.toISOString(),
      submittedAt: null,
      error: null,
    };
    let planned = await this.deps.store.planTask(plannedTask, { reuse: !forced });
    // A build planned meanwhile that would expire before this decision's deadline cannot be
    // a dependency of its descendants: build anew rather than join it.
    if (!planned.planned && Date.parse(planned.existing.definition.expires ?? '') <= Date.parse(definition.deadline)) {
      planned = await this.deps.store.planTask(plannedTask, { reuse: false });
    }
    if (!planned.planned && planned.existing.decisionId === input.decisionId) {
      // This decision planned it already, for another of its images (two images of one
      // digest): the same build, still this decision's to submit.
      const own = planned.existing;
      return { ...decision, taskId: own.taskId, definition: own.definition, artifactUrl: this.artifactUrl(own.taskId) };
    }
    if (!planned.planned) {
      const other = planned.existing.taskId;
      return this.reuse(base, 'in-flight', other, parent, facts, `in flight: task ${other} was planned for this digest by decision ${planned.existing.decisionId}`);
    }
    return { ...decision, artifactUrl: this.artifactUrl(taskId) };
  }
}
