import type { ImageError } from '../catalog/types.ts';
import { isDeciderError } from '../errors.ts';
import type { DecisionStore } from '../store/types.ts';
import type { Taskcluster } from '../taskcluster/types.ts';
import type { DecisionSettings } from './settings.ts';
import { type TaskTemplate, taskTimes } from './template.ts';
import type { PlannedTask } from './types.ts';

/** The Queue refuses a `created` more than 15 minutes off; keep a margin for clock drift. */
const MAX_CREATED_AGE_MS = 14 * 60_000;

export type SubmitOutcome = { readonly ok: true } | { readonly ok: false; readonly error: ImageError };

export interface SubmitterDeps {
  readonly taskcluster: Taskcluster;
  readonly store: DecisionStore;
  readonly template: TaskTemplate;
  readonly settings: DecisionSettings;
  readonly clock: () => Date;
}

/**
 * Sends planned tasks to the Queue, dependencies first, exactly once: the stored definition
 * is re-sent on a retry (the Queue accepts an identical re-create), and a plan older than
 * the Queue accepts is first checked with `status`, then re-rendered under the same id.
 * 5xx and network errors propagate (the caller retries later); other refusals are recorded.
 */
export class Submitter {
  private readonly inProgress = new Map<string, Promise<SubmitOutcome>>();

  constructor(private readonly deps: SubmitterDeps) {}

  /** Submits the given tasks; resolves with each one's outcome. */
  async submitAll(taskIds: readonly string[]): Promise<Map<string, SubmitOutcome>> {
    // Every attempt settles before this returns or throws, so none outlives it to be joined
    // (and fail) by the retry that follows an outage.
    const settled = await Promise.allSettled(taskIds.map((id) => this.ensure(id)));
    const failure = settled.find((s) => s.status === 'rejected');
    if (failure) throw failure.reason;
    return new Map(taskIds.map((id, i) => [id, (settled[i] as PromiseFulfilledResult<SubmitOutcome>).value]));
  }

  private ensure(taskId: string): Promise<SubmitOutcome> {
    let running = this.inProgress.get(taskId);
    if (!running) {
      running = this.submit(taskId).finally(() => this.inProgress.delete(taskId));
      this.inProgress.set(taskId, running);
    }
    return running;
  }

  private async submit(taskId: string): Promise<SubmitOutcome> {
    const { store } = this.deps;
    const task = await store.getTask(taskId);
    // Not one of ours (an indexed parent, say): it exists already.
    if (!task || task.state === 'submitted') return { ok: true };
    if (task.state === 'rejected') return { ok: false, error: task.error! };
    for (const dep of task.definition.dependencies ?? []) {
      const outcome = await this.ensure(dep);
      if (!outcome.ok) {
        const error: ImageError = { code: 'taskcluster-rejected', message: `parent task ${dep} was refused: ${outcome.error.message}` };
        await store.markRejected(taskId, error);
        return { ok: false, error };
      }
    }
    return this.create(task);
  }

  private async create(task: PlannedTask): Promise<SubmitOutcome> {
    const { taskcluster: tc, store, clock } = this.deps;
    let definition = task.definition;
    const now = clock();
    if (now.getTime() - Date.parse(definition.created) > MAX_CREATED_AGE_MS) {
      if (await tc.queue.status(task.taskId)) return this.submitted(task);
      definition = this.deps.template.render(task.input, taskTimes(now, task.level, this.deps.settings.deadlineMinutes));
      await store.replaceDefinition(task.taskId, definition);
    }
    try {
      await tc.queue.createTask(task.taskId, definition);
      return await this.submitted(task);
    } catch (err) {
      if (!isDeciderError(err) || err.code === 'taskcluster-unavailable') throw err;
      // Our id is taken only by our own earlier submission (of an older rendering).
      if (err.code === 'taskcluster-conflict' && (await tc.queue.task(task.taskId))) return this.submitted(task);
      const error = err.toJSON();
      await store.markRejected(task.taskId, error);
      return { ok: false, error };
    }
  }

  private async submitted(task: PlannedTask): Promise<SubmitOutcome> {
    await this.deps.store.markSubmitted(task.taskId, this.deps.clock().toISOString());
    return { ok: true };
  }
}
