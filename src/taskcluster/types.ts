/** The parts of Taskcluster's Queue and Index that image-decider uses, typed. */

export type TaskState = 'unscheduled' | 'pending' | 'running' | 'completed' | 'failed' | 'exception';

export interface TaskRun {
  readonly runId: number;
  readonly state: TaskState;
  readonly reasonCreated?: string;
  readonly reasonResolved?: string;
  readonly scheduled?: string;
  readonly started?: string;
  readonly resolved?: string;
}

export interface TaskStatus {
  readonly taskId: string;
  readonly state: TaskState;
  readonly runs: readonly TaskRun[];
  readonly deadline: string;
  readonly expires: string;
  readonly taskGroupId?: string;
  readonly retriesLeft?: number;
}

/** A task definition as sent to `createTask`; the Queue validates the rest. */
export interface TaskDefinition {
  readonly created: string;
  readonly deadline: string;
  readonly expires?: string;
  readonly dependencies?: readonly string[];
  readonly routes?: readonly string[];
  readonly payload: Record<string, unknown>;
  readonly metadata: { name: string; description: string; owner: string; source: string };
  readonly [field: string]: unknown;
}

export interface Artifact {
  readonly name: string;
  readonly storageType: string;
  readonly contentType?: string;
  readonly expires: string;
}

export interface IndexedTask {
  readonly namespace: string;
  readonly taskId: string;
  readonly rank: number;
  readonly data: Record<string, unknown>;
  readonly expires: string;
}

export interface QueueApi {
  createTask(taskId: string, definition: TaskDefinition): Promise<TaskStatus>;
  /** null when the Queue has no such task. */
  task(taskId: string): Promise<TaskDefinition | null>;
  status(taskId: string): Promise<TaskStatus | null>;
  /**
   * The statuses of the known tasks among `taskIds`, by id: one request where the
   * deployment has the experimental `statuses`, else one `status` each.
   */
  statuses(taskIds: readonly string[]): Promise<Map<string, TaskStatus>>;
  /** Every page of the latest run's artifacts. */
  listLatestArtifacts(taskId: string): Promise<Artifact[]>;
  /** The public URL of an artifact of the task's latest run. */
  artifactUrl(taskId: string, name: string): string;
}

export interface IndexApi {
  /** null when nothing is indexed at the path. */
  findTask(namespace: string): Promise<IndexedTask | null>;
  /** The entries found among `namespaces`, by namespace; one request where the deployment allows. */
  findTasks(namespaces: readonly string[]): Promise<Map<string, IndexedTask>>;
  insertTask(namespace: string, entry: { taskId: string; rank: number; data: Record<string, unknown>; expires: string }): Promise<void>;
}

export interface Taskcluster {
  readonly rootUrl: string;
  /** Whether requests carry credentials (else they hold the deployment's anonymous role). */
  readonly signed: boolean;
  /** Resolves when the Queue answers; for health checks. */
  ping(): Promise<void>;
  /** The scopes the client holds, expanded (auth `currentScopes`). */
  currentScopes(): Promise<string[]>;
  readonly queue: QueueApi;
  readonly index: IndexApi;
}
