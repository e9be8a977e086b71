import type { ImageError } from '../../catalog/types.ts';
import { DeciderError } from '../../errors.ts';
import { parseLevel, type BuildQuery, type DecisionRecord, type DecisionStore, type PlanResult, type PlannedTask, type PlannedTaskState } from '../../domain/index.ts';
import type { TaskDefinition } from '../../taskcluster/types.ts';
import { DEFAULT_MAX_DECISION_BYTES, decisionJson } from '../decision-json.ts';
import { storableJson, storableJsonText } from '../storable.ts';
import type { Row, SqlClient } from './client.ts';

export function iso(value: unknown): string | null {
  return value === null || value === undefined ? null : new Date(value as string | Date).toISOString();
}

function taskFromRow(r: Row): PlannedTask {
  return {
    taskId: r.task_id as string,
    decisionId: r.decision_id as string,
    image: r.image as string,
    digest: r.digest as string,
    level: parseLevel(r.level),
    pullRequest: r.pull_request as boolean,
    definition: r.definition as TaskDefinition,
    input: r.input as PlannedTask['input'],
    state: r.state as PlannedTaskState,
    active: r.active as boolean,
    createdAt: iso(r.created_at)!,
    submittedAt: iso(r.submitted_at),
    error: (r.error as ImageError | null) ?? null,
  };
}

/** Active builds serving a query, best first: the highest level, then the oldest. */
const SERVING = `
  SELECT * FROM planned_tasks
  WHERE active AND state <> 'rejected' AND digest = $1 AND level >= $2 AND (NOT pull_request OR $3)
  ORDER BY level DESC, created_at, task_id LIMIT 1`;

/** Decisions and planned tasks in PostgreSQL (or PGlite): one SQL for both. */
export class SqlDecisionStore implements DecisionStore {
  constructor(
    protected readonly db: SqlClient,
    /** A decision record larger than this, as JSON, is refused with `limit-exceeded`. */
    private readonly maxDecisionBytes = DEFAULT_MAX_DECISION_BYTES,
  ) {}

  async planTask(task: PlannedTask, options: { reuse: boolean }): Promise<PlanResult> {
    return this.db.transaction(async (tx) => {
      // Serialises planners of one digest across processes: of two, one plans, one reuses.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [task.digest]);
      if (options.reuse) {
        const [existing] = await tx.query(SERVING, [task.digest, task.level, task.pullRequest]);
        if (existing) return { planned: false, existing: taskFromRow(existing) };
      }
      await tx.query(
        `INSERT INTO planned_tasks (task_id, decision_id, image, digest, level, pull_request, definition, input, state, active, created_at, submitted_at, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        [
          task.taskId,
          task.decisionId,
          task.image,
          task.digest,
          task.level,
          task.pullRequest,
          JSON.stringify(task.definition),
          JSON.stringify(task.input),
          task.state,
          task.active,
          task.createdAt,
          task.submittedAt,
          storableJson(task.error),
        ],
      );
      return { planned: true, task };
    });
  }

  async findActiveBuild(query: BuildQuery): Promise<PlannedTask | null> {
    const [row] = await this.db.query(SERVING, [query.digest, query.level, query.pullRequest]);
    return row ? taskFromRow(row) : null;
  }

  async getTask(taskId: string): Promise<PlannedTask | null> {
    const [row] = await this.db.query('SELECT * FROM planned_tasks WHERE task_id = $1', [taskId]);
    return row ? taskFromRow(row) : null;
  }

  async tasksOfDecision(decisionId: string): Promise<PlannedTask[]> {
    return (await this.db.query('SELECT * FROM planned_tasks WHERE decision_id = $1 ORDER BY created_at, task_id', [decisionId])).map(taskFromRow);
  }

  private async update(taskId: string, set: string, params: unknown[], where = ''): Promise<number> {
    const rows = await this.db.query(`UPDATE planned_tasks SET ${set} WHERE task_id = $1 ${where} RETURNING task_id`, [taskId, ...params]);
    return rows.length;
  }

  async markSubmitted(taskId: string, at: string): Promise<void> {
    if (!(await this.update(taskId, "state = 'submitted', submitted_at = $2", [at]))) throw new DeciderError('not-found', `no planned task ${taskId}`);
  }

  async replaceDefinition(taskId: string, definition: TaskDefinition): Promise<void> {
    if (!(await this.update(taskId, 'definition = $2', [JSON.stringify(definition)], "AND state = 'planned'"))) {
      throw new DeciderError('conflict', `task ${taskId} is not planned`);
    }
  }

  async markRejected(taskId: string, error: ImageError): Promise<void> {
    if (!(await this.update(taskId, "state = 'rejected', active = false, error = $2", [storableJson(error)]))) throw new DeciderError('not-found', `no planned task ${taskId}`);
  }

  async deactivate(taskId: string): Promise<void> {
    if (!(await this.update(taskId, 'active = false', []))) throw new DeciderError('not-found', `no planned task ${taskId}`);
  }

  async saveDecision(record: DecisionRecord): Promise<void> {
    // Its reasons and errors quote git, remotes and kind files: whatever they hold is stored.
    const json = storableJsonText(decisionJson(record, this.maxDecisionBytes));
    await this.db.query(
      `INSERT INTO decisions (id, state, created_at, record) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, record = EXCLUDED.record`,
      [record.id, record.state, record.createdAt, json],
    );
  }

  async getDecision(id: string): Promise<DecisionRecord | null> {
    const [row] = await this.db.query<{ record: DecisionRecord }>('SELECT record FROM decisions WHERE id = $1', [id]);
    return row?.record ?? null;
  }

  async unfinishedDecisions(): Promise<DecisionRecord[]> {
    const rows = await this.db.query<{ record: DecisionRecord }>("SELECT record FROM decisions WHERE state = 'planned' ORDER BY created_at, id");
    return rows.map((r) => r.record);
  }
}
