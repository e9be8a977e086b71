import type { ChangeStore, DecisionRecord, DecisionStore, ForceRebuild, ImageDecision, Level, Lineage, PushContext } from '../domain/index.ts';
import type { ImageError } from '../catalog/types.ts';
import { DeciderError, isDeciderError } from '../errors.ts';
import type { ImageGraph } from '../graph/types.ts';
import type { Taskcluster } from '../taskcluster/types.ts';
import { explainBuilds, versionsOf } from './explain.ts';
import { LookAhead } from './look-ahead.ts';
import { CompletedRuns, type Prefetch } from './lookup.ts';
import { Planner } from './planner.ts';
import type { DecisionSettings } from './settings.ts';
import { Submitter } from './submitter.ts';
import type { TaskTemplate } from './template.ts';

export interface DeciderDeps {
  /** null: dry run, no Index or Queue calls. */
  readonly taskcluster: Taskcluster | null;
  readonly store: DecisionStore;
  /**
   * Where builds are explained from (manifests and earlier versions of each image), and where
   * each plan's versions are recorded; none: builds say nothing of what changed.
   */
  readonly changes?: ChangeStore | null;
  readonly template: TaskTemplate;
  readonly settings: DecisionSettings;
  readonly clock?: () => Date;
  readonly newId: () => string;
}

export interface DecideRequest {
  readonly push: PushContext;
  readonly graph: ImageGraph;
  /** What `pushdate` routes and the index rank carry. */
  readonly pushDate: Date;
  readonly force?: ForceRebuild;
  /** The service passes its push id; otherwise a new id. */
  readonly decisionId?: string;
  /** From `lookAhead`, started before the graph was built. */
  readonly prefetch?: Prefetch | null;
  /** Where the revision sits in the repository's history: builds are compared with its nearest decided ancestor. */
  readonly lineage?: Lineage | null;
}

/** The images to rebuild: the named one and, if asked, everything built on it. */
function forcedImages(graph: ImageGraph, force: ForceRebuild | undefined): Set<string> {
  const forced = new Set<string>();
  if (!force) return forced;
  if (!graph.images.some((i) => i.name === force.image)) {
    throw new DeciderError('unknown-image', `no image named ${force.image} at ${graph.rev ?? 'this tree'}`);
  }
  forced.add(force.image);
  if (force.withDescendants) {
    for (const image of graph.images) if (image.parent && forced.has(image.parent)) forced.add(image.name);
  }
  return forced;
}

/** Plans a push's decisions, then submits its new tasks; either step may be resumed. */
export class Decider {
  private readonly clock: () => Date;
  private readonly planner: Planner;
  private readonly submitter: Submitter | null;
  private readonly ahead: LookAhead | null;

  /** Throws `bad-template` when the template and settings would make a task the Queue refuses. */
  constructor(private readonly deps: DeciderDeps) {
    deps.template.check(deps.settings);
    this.clock = deps.clock ?? (() => new Date());
    const completedRuns = new CompletedRuns();
    this.planner = new Planner({ ...deps, newTaskId: deps.newId, completedRuns });
    this.submitter = deps.taskcluster ? new Submitter({ ...deps, taskcluster: deps.taskcluster, clock: this.clock }) : null;
    this.ahead = deps.taskcluster ? new LookAhead(deps.taskcluster, completedRuns) : null;
  }

  /**
   * Starts looking up the index paths of this decider's last plan at the same level, for a
   * push whose graph is not built yet; pass the result to `plan`. null in a dry run, or
   * before any plan at this level.
   */
  lookAhead(level: Level, pullRequest: boolean): Prefetch | null {
    return this.ahead?.start(level, pullRequest) ?? null;
  }

  get dryRun(): boolean {
    return this.deps.taskcluster === null;
  }

  async decide(request: DecideRequest): Promise<DecisionRecord> {
    return this.submit(await this.plan(request));
  }

  /**
   * Looks up and stores every decision and planned task; nothing is sent to the Queue yet.
   * The record is `planned` when it has tasks to create, else already `decided`.
   */
  async plan(request: DecideRequest): Promise<DecisionRecord> {
    const now = this.clock();
    const id = request.decisionId ?? this.deps.newId();
    const taskGroupId = this.deps.newId();
    const forced = forcedImages(request.graph, request.force);
    this.ahead?.remember(request.graph, request.push.level, request.push.pullRequest);
    try {
      return await this.planAndSave(request, id, taskGroupId, forced, now);
    } catch (err) {
      // Best effort: with the store away this fails too, and the next attempt of the decision
      // takes its tasks up (as after a crash, when nothing runs here at all).
      const cause = isDeciderError(err) ? err.toJSON() : { code: 'internal-error' as const, message: (err as Error).message };
      await this.abandonTasks(id, { code: cause.code, message: `decision ${id} failed before it was stored: ${cause.message}` }).catch(() => undefined);
      throw err;
    }
  }

  private async planAndSave(request: DecideRequest, id: string, taskGroupId: string, forced: Set<string>, now: Date): Promise<DecisionRecord> {
    const planned = await this.planner.plan({
      decisionId: id,
      taskGroupId,
      push: request.push,
      graph: request.graph,
      pushDate: request.pushDate,
      forced,
      forceReason: request.force?.reason,
      now,
      prefetch: request.prefetch,
    });
    const changes = this.deps.changes;
    const explain = { decisionId: id, push: request.push, graph: request.graph, now, lineage: request.lineage ?? null };
    const images = changes ? await explainBuilds(planned, explain, changes) : planned;
    if (changes) await changes.recordVersions(versionsOf(images, explain));
    // With no task to create (a dry run, or every image reused), the plan is the decision.
    const decided = this.dryRun || !images.some((i) => i.decision === 'build');
    const record: DecisionRecord = {
      id,
      push: request.push,
      taskGroupId,
      state: decided ? 'decided' : 'planned',
      dryRun: this.dryRun,
      images,
      createdAt: now.toISOString(),
      decidedAt: decided ? now.toISOString() : null,
      error: null,
    };
    await this.deps.store.saveDecision(record);
    return record;
  }

  /**
   * The tasks planned for a decision that failed before its record was stored (over
   * `limits.decisionBytes`, say): refused, so no later decision joins them as builds in
   * flight that nobody is going to send. A retry of the push plans afresh.
   */
  private async abandonTasks(decisionId: string, error: ImageError): Promise<void> {
    for (const task of await this.deps.store.tasksOfDecision(decisionId)) {
      if (task.state === 'planned') await this.deps.store.markRejected(task.taskId, error);
    }
  }

  /**
   * Creates the record's planned tasks. Throws `taskcluster-unavailable` when the Queue
   * keeps failing (`insufficient-scopes` when it refuses the client): the record stays
   * `planned`, and a later call picks up where this stopped. The service's worker makes that
   * call when it takes the push up again (`processPush` finds the stored plan).
   */
  async submit(record: DecisionRecord): Promise<DecisionRecord> {
    if (record.state !== 'planned' || !this.submitter) return record;
    // The builds this record names: a task its plan made and no image uses is never sent.
    const builds = record.images.filter((i) => i.decision === 'build' && i.taskId !== null).map((i) => i.taskId!);
    const outcomes = await this.submitter.submitAll([...new Set(builds)]);
    const failed = new Set<string>();
    const images = record.images.map((image): ImageDecision => {
      const outcome = image.decision === 'build' && image.taskId ? outcomes.get(image.taskId) : undefined;
      if (!outcome || outcome.ok) return image;
      failed.add(image.name);
      if (image.parentTaskId && failed.has(record.images.find((i) => i.taskId === image.parentTaskId)?.name ?? '')) {
        return { ...image, decision: 'blocked', reason: `blocked: ${outcome.error.message}`, error: outcome.error };
      }
      return { ...image, decision: 'error', reason: `the Queue refused task ${image.taskId}: ${outcome.error.message}`, error: outcome.error };
    });
    const decided: DecisionRecord = { ...record, images, state: 'decided', decidedAt: this.clock().toISOString() };
    await this.deps.store.saveDecision(decided);
    return decided;
  }
}
