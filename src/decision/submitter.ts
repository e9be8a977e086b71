import type { ImageError } from '../catalog/types.ts';
import { isDeciderError } from '../errors.ts';
import type { DecisionStore, PlannedTask } from '../domain/index.ts';
import type { Taskcluster } from '../taskcluster/types.ts';
import type { DecisionSettings } from './settings.ts';
import { type TaskTemplate, taskTimes } from './template.ts';

/** The Queue refuses a `created` more than 15 minutes off; keep a margin for clock drift. */
const MAX_CREATED_AGE_MS = 14 * 60_000;
/** A stored deadline closer than this (or past) is re-rendered: the Queue refuses a deadline in the past. */
const MIN_DEADLINE_LEFT_MS = 2 * 60_000;

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
 * is re-sent on a retry (the Queue accepts an identical re-create), and a plan whose
 * `created` or deadline the Queue would refuse is first checked with `status`, then
 * re-rendered under the same id; a refused stored definition is re-rendered and sent once
 * more before the refusal counts. 5xx, network and scope errors propagate (the caller
 * retries later); other refusals are recorded.
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

  /** Whether the Queue might refuse the stored times: `created` too far off, or the deadline (nearly) past. */
  private stale(definition: PlannedTask['definition'], now: number): boolean {
    return Math.abs(now - Date.parse(definition.created)) > MAX_CREATED_AGE_MS || Date.parse(definition.deadline) - now < MIN_DEADLINE_LEFT_MS;
  }

  /** The same task with fresh times, under the same id; null when a task by that id exists (ours, sent before). */
  private async rerender(task: PlannedTask): Promise<PlannedTask['definition'] | null> {
    const { taskcluster: tc, store, clock, template, settings } = this.deps;
    if (await tc.queue.status(task.taskId)) return null;
    const definition = template.render(task.input, taskTimes(clock(), task.level, settings.deadlineMinutes));
    await store.replaceDefinition(task.taskId, definition);
    return definition;
  }

  private async create(task: PlannedTask): Promise<SubmitOutcome> {
    const { taskcluster: tc, store, clock } = this.deps;
    let definition: PlannedTask['definition'] | null = task.definition;
    let fresh = false;
    if (this.stale(definition, clock().getTime())) {
      definition = await this.rerender(task);
      if (!definition) return this.submitted(task);
      fresh = true;
    }
    for (;;) {
      try {
        await tc.queue.createTask(task.taskId, definition);
        return await this.submitted(task);
      } catch (err) {
        // Only the Queue's refusals are the task's; anything else (an outage, missing scopes,
        // the store) is the deployment's, and the plan waits.
        if (!isDeciderError(err) || (err.code !== 'taskcluster-conflict' && err.code !== 'taskcluster-rejected')) throw err;
        // Our id is taken only by our own earlier submission (of an older rendering).
        if (err.code === 'taskcluster-conflict' && (await tc.queue.task(task.taskId))) return this.submitted(task);
        // A refusal of a definition rendered a while ago may be about its times: never an
        // image error before the same task, rendered now, was refused too.
        if (!fresh && err.code === 'taskcluster-rejected') {
          definition = await this.rerender(task);
          if (!definition) return this.submitted(task);
          fresh = true;
          continue;
        }
        const error = err.toJSON();
        await store.markRejected(task.taskId, error);
        return { ok: false, error };
      }
    }
  }

  private async submitted(task: PlannedTask): Promise<SubmitOutcome> {
    await this.deps.store.markSubmitted(task.taskId, this.deps.clock().toISOString());
    return { ok: true };
  }
}
