import type { ImageError } from '../catalog/types.ts';
import type { DecisionRecord, PlannedTask } from './decision.ts';
import type { Level } from './level.ts';
import type { TaskDefinition } from '../taskcluster/types.ts';

export interface BuildQuery {
  readonly digest: string;
  readonly level: Level;
  readonly pullRequest: boolean;
}

export type PlanResult = { readonly planned: true; readonly task: PlannedTask } | { readonly planned: false; readonly existing: PlannedTask };

/**
 * Everything the decision layer keeps. Implementations must make `planTask` atomic:
 * of two concurrent plans for the same build, exactly one is stored.
 */
export interface DecisionStore {
  /**
   * Stores `task` unless (with `reuse`) an active build of the same digest exists at the
   * task's level or higher, usable by it (a pull-request build serves pull requests only).
   */
  planTask(task: PlannedTask, options: { reuse: boolean }): Promise<PlanResult>;
  findActiveBuild(query: BuildQuery): Promise<PlannedTask | null>;
  getTask(taskId: string): Promise<PlannedTask | null>;
  tasksOfDecision(decisionId: string): Promise<PlannedTask[]>;
  markSubmitted(taskId: string, at: string): Promise<void>;
  /** A fresh-times re-render under the same id; only while still planned. */
  replaceDefinition(taskId: string, definition: TaskDefinition): Promise<void>;
  markRejected(taskId: string, error: ImageError): Promise<void>;
  /** The build is over (resolved, or unknown to the Queue): no longer reused as in flight. */
  deactivate(taskId: string): Promise<void>;

  saveDecision(record: DecisionRecord): Promise<void>;
  getDecision(id: string): Promise<DecisionRecord | null>;
  /** Decisions whose tasks are not all submitted yet, oldest first. */
  unfinishedDecisions(): Promise<DecisionRecord[]>;
}
