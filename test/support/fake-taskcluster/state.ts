import { isDeepStrictEqual } from 'node:util';
import { QueueInputError, validateTaskDefinition, withDefaults } from './validate.ts';

export type State = 'unscheduled' | 'pending' | 'running' | 'completed' | 'failed' | 'exception';

export interface FakeArtifact {
  name: string;
  storageType: string;
  contentType: string;
  expires: string;
}

export interface FakeTask {
  readonly taskId: string;
  /** The definition as received, to compare re-creates against. */
  readonly submitted: Record<string, unknown>;
  readonly definition: Record<string, unknown>;
  state: State;
  runs: Array<{ runId: number; state: State; reasonCreated: string; reasonResolved?: string; scheduled: string; resolved?: string }>;
  artifacts: FakeArtifact[];
}

export interface IndexEntry {
  namespace: string;
  taskId: string;
  rank: number;
  data: Record<string, unknown>;
  expires: string;
}

/** An error answer with the real services' body shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Queue and Index state with the real services' rules; times come from `now`. */
export class FakeServices {
  readonly tasks = new Map<string, FakeTask>();
  readonly index = new Map<string, IndexEntry>();
  /** Every task of a group has the group's schedulerId (the real Queue's task-group table). */
  private readonly groupSchedulers = new Map<string, string>();

  constructor(private readonly now: () => number) {}

  private iso(offsetMs = 0): string {
    return new Date(this.now() + offsetMs).toISOString();
  }

  getTask(taskId: string): FakeTask {
    const task = this.tasks.get(taskId);
    if (!task) throw new ApiError(404, 'ResourceNotFound', `Task ${taskId} not found`);
    return task;
  }

  createTask(taskId: string, body: unknown): FakeTask {
    try {
      validateTaskDefinition(body, this.now());
    } catch (err) {
      if (err instanceof QueueInputError) throw new ApiError(400, err.code, err.message);
      throw err;
    }
    const submitted = body as Record<string, unknown>;
    const existing = this.tasks.get(taskId);
    if (existing) {
      if (isDeepStrictEqual(existing.submitted, submitted)) return existing;
      throw new ApiError(409, 'RequestConflict', `taskId ${taskId} already used by another task`);
    }
    const definition = withDefaults(taskId, submitted);
    const group = String(definition.taskGroupId);
    const scheduler = String(definition.schedulerId);
    const groupScheduler = this.groupSchedulers.get(group);
    if (groupScheduler !== undefined && groupScheduler !== scheduler) {
      throw new ApiError(
        409,
        'RequestConflict',
        `Task group ${group} contains tasks with a schedulerId other than ${scheduler}. All tasks in the same task-group must have the same schedulerId.`,
      );
    }
    const deps = definition.dependencies as string[];
    const missing = deps.filter((d) => !this.tasks.has(d));
    const deadline = Date.parse(definition.deadline as string);
    const expiring = deps.filter((d) => this.tasks.has(d) && Date.parse(this.tasks.get(d)!.definition.expires as string) < deadline);
    if (missing.length > 0) throw new ApiError(400, 'InputError', `dependencies do not exist: ${missing.join(', ')}`);
    if (expiring.length > 0) {
      throw new ApiError(400, 'InputError', `\`task.dependencies\` references tasks that expires before \`task.deadline\` this is not allowed, see tasks: ${expiring.join(', ')}`);
    }
    this.groupSchedulers.set(group, scheduler);
    const task: FakeTask = { taskId, submitted: structuredClone(submitted), definition, state: 'unscheduled', runs: [], artifacts: [] };
    this.tasks.set(taskId, task);
    this.scheduleIfReady(task);
    return task;
  }

  status(task: FakeTask): Record<string, unknown> {
    const d = task.definition;
    return {
      taskId: task.taskId,
      provisionerId: d.provisionerId,
      workerType: d.workerType,
      taskQueueId: d.taskQueueId,
      schedulerId: d.schedulerId,
      projectId: d.projectId,
      taskGroupId: d.taskGroupId,
      deadline: d.deadline,
      expires: d.expires,
      retriesLeft: d.retries,
      state: task.state,
      runs: task.runs,
    };
  }

  private scheduleIfReady(task: FakeTask): void {
    if (task.state !== 'unscheduled') return;
    const deps = task.definition.dependencies as string[];
    if (deps.every((d) => this.tasks.get(d)?.state === 'completed')) {
      task.state = 'pending';
      task.runs.push({ runId: 0, state: 'pending', reasonCreated: 'scheduled', scheduled: this.iso() });
    }
  }

  private resolve(taskId: string, state: 'completed' | 'failed' | 'exception', reason: string): FakeTask {
    const task = this.getTask(taskId);
    if (task.runs.length === 0) task.runs.push({ runId: 0, state, reasonCreated: 'scheduled', scheduled: this.iso() });
    const run = task.runs.at(-1)!;
    Object.assign(run, { state, reasonResolved: reason, resolved: this.iso() });
    task.state = state;
    return task;
  }

  start(taskId: string): void {
    const task = this.getTask(taskId);
    if (task.state !== 'pending') throw new Error(`task ${taskId} is ${task.state}, not pending`);
    task.state = 'running';
    task.runs.at(-1)!.state = 'running';
  }

  /** Completes a task with artifacts, indexes its `index.*` routes, and schedules dependents. */
  complete(taskId: string, artifacts: readonly string[] = ['public/image.tar.zst'], artifactExpires?: string): void {
    const task = this.resolve(taskId, 'completed', 'completed');
    const expires = artifactExpires ?? (task.definition.expires as string);
    task.artifacts = artifacts.map((name) => ({ name, storageType: 's3', contentType: 'application/octet-stream', expires }));
    const extraIndex = ((task.definition.extra as Record<string, unknown>).index ?? {}) as Partial<IndexEntry>;
    for (const route of task.definition.routes as string[]) {
      if (!route.startsWith('index.')) continue;
      this.insert(route.slice('index.'.length), {
        taskId,
        rank: extraIndex.rank ?? 0,
        data: extraIndex.data ?? {},
        expires: extraIndex.expires ?? (task.definition.expires as string),
      });
    }
    for (const other of this.tasks.values()) {
      if ((other.definition.dependencies as string[]).includes(taskId)) this.scheduleIfReady(other);
    }
  }

  /** As the Queue's `rerunTask`: a new pending run, with none of the last run's artifacts. */
  rerun(taskId: string): void {
    const task = this.getTask(taskId);
    task.runs.push({ runId: task.runs.length, state: 'pending', reasonCreated: 'rerun', scheduled: this.iso() });
    task.state = 'pending';
    task.artifacts = [];
  }

  fail(taskId: string): void {
    this.resolve(taskId, 'failed', 'failed');
  }

  exception(taskId: string): void {
    this.resolve(taskId, 'exception', 'malformed-payload');
  }

  /** Tests shorten a task's life to see it judged too short-lived. */
  setExpires(taskId: string, expires: string): void {
    (this.getTask(taskId).definition as { expires: string }).expires = expires;
  }

  removeArtifact(taskId: string, name: string): void {
    const task = this.getTask(taskId);
    task.artifacts = task.artifacts.filter((a) => a.name !== name);
  }

  /** A lower rank than the entry already there is silently not stored, as the real Index does. */
  insert(namespace: string, entry: Omit<IndexEntry, 'namespace'>): IndexEntry {
    const existing = this.findEntry(namespace);
    if (existing && existing.rank > entry.rank) return existing;
    const stored = { namespace, ...entry };
    this.index.set(namespace, stored);
    return stored;
  }

  /** `findTask`: an expired entry is not found (until the expiry sweep removes it, it is still stored). */
  findEntry(namespace: string): IndexEntry | undefined {
    const entry = this.index.get(namespace);
    return entry && Date.parse(entry.expires) > this.now() ? entry : undefined;
  }

  /** `findTasksAtIndex` does not check expiry: it answers whatever is stored, expired or not. */
  storedEntry(namespace: string): IndexEntry | undefined {
    return this.index.get(namespace);
  }
}
