import type { ImageError } from '../catalog/types.ts';
import type { ContextManifest } from '../context/manifest.ts';
import { DeciderError } from '../errors.ts';
import {
  buildServes,
  type BuildQuery,
  type ChangeStore,
  type DecisionRecord,
  type DecisionStore,
  type ImageVersion,
  type PlanResult,
  type PlannedTask,
  type StoredManifest,
} from '../domain/index.ts';
import type { TaskDefinition } from '../taskcluster/types.ts';
import type { ChangeLimits } from './change-limits.ts';
import { DEFAULT_MAX_DECISION_BYTES, decisionJson } from './decision-json.ts';
import { MemoryChanges } from './memory-changes.ts';

/** The decision store (and change store) in memory: for tests, the CLI, and one process without persistence. */
export class MemoryStore implements DecisionStore, ChangeStore {
  private readonly tasks = new Map<string, PlannedTask>();
  private readonly decisions = new Map<string, DecisionRecord>();
  private readonly changes: MemoryChanges;

  /** A decision record larger than `maxDecisionBytes` as JSON is refused, as the SQL store refuses it. */
  constructor(private readonly options: { readonly maxDecisionBytes?: number; readonly changeLimits?: ChangeLimits } = {}) {
    this.changes = new MemoryChanges(options.changeLimits);
  }

  recordManifests(manifests: readonly StoredManifest[], at: Date): Promise<void> {
    return this.changes.recordManifests(manifests, at);
  }

  getManifests(contextHashes: readonly string[]): Promise<Map<string, ContextManifest>> {
    return this.changes.getManifests(contextHashes);
  }

  recordVersions(versions: readonly ImageVersion[]): Promise<void> {
    return this.changes.recordVersions(versions);
  }

  versionsOfImages(repository: string, images: readonly string[]) {
    return this.changes.versionsOfImages(repository, images);
  }

  // Each method body runs without an await before its write, so it is atomic on one event loop.
  async planTask(task: PlannedTask, options: { reuse: boolean }): Promise<PlanResult> {
    if (options.reuse) {
      const existing = this.activeBuild(task);
      if (existing) return { planned: false, existing };
    }
    if (this.tasks.has(task.taskId)) throw new DeciderError('conflict', `task ${task.taskId} is already planned`);
    this.tasks.set(task.taskId, structuredClone(task));
    return { planned: true, task };
  }

  async findActiveBuild(query: BuildQuery): Promise<PlannedTask | null> {
    return this.activeBuild(query);
  }

  private activeBuild(query: BuildQuery): PlannedTask | null {
    let best: PlannedTask | null = null;
    for (const task of this.tasks.values()) {
      // Prefer the highest-level build, then the oldest, as the SQL store orders them.
      if (buildServes(task, query) && (!best || task.level > best.level)) best = task;
    }
    return best ? structuredClone(best) : null;
  }

  async getTask(taskId: string): Promise<PlannedTask | null> {
    const task = this.tasks.get(taskId);
    return task ? structuredClone(task) : null;
  }

  async tasksOfDecision(decisionId: string): Promise<PlannedTask[]> {
    return [...this.tasks.values()].filter((t) => t.decisionId === decisionId).map((t) => structuredClone(t));
  }

  private update(taskId: string, patch: Partial<PlannedTask>): void {
    const task = this.tasks.get(taskId);
    if (!task) throw new DeciderError('not-found', `no planned task ${taskId}`);
    this.tasks.set(taskId, { ...task, ...structuredClone(patch) });
  }

  async markSubmitted(taskId: string, at: string): Promise<void> {
    this.update(taskId, { state: 'submitted', submittedAt: at });
  }

  async replaceDefinition(taskId: string, definition: TaskDefinition): Promise<void> {
    if (this.tasks.get(taskId)?.state !== 'planned') throw new DeciderError('conflict', `task ${taskId} is not planned`);
    this.update(taskId, { definition });
  }

  async markRejected(taskId: string, error: ImageError): Promise<void> {
    this.update(taskId, { state: 'rejected', active: false, error });
  }

  async deactivate(taskId: string): Promise<void> {
    this.update(taskId, { active: false });
  }

  async saveDecision(record: DecisionRecord): Promise<void> {
    decisionJson(record, this.options.maxDecisionBytes ?? DEFAULT_MAX_DECISION_BYTES);
    this.decisions.set(record.id, structuredClone(record));
  }

  async getDecision(id: string): Promise<DecisionRecord | null> {
    const record = this.decisions.get(id);
    return record ? structuredClone(record) : null;
  }

  async unfinishedDecisions(): Promise<DecisionRecord[]> {
    return [...this.decisions.values()]
      .filter((d) => d.state === 'planned')
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .map((d) => structuredClone(d));
  }
}
