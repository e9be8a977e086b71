import { basename, resolve } from 'node:path';
import { type DecideRequest, Decider } from '../decision/decider.ts';
import { DEFAULT_DECISION_SETTINGS } from '../decision/settings.ts';
import { asPreview } from '../decision/preview.ts';
import { TaskTemplate } from '../decision/template.ts';
import type { DecisionRecord, Level } from '../domain/index.ts';
import type { ImageGraph } from '../graph/types.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { taskclusterOptionsFromEnv } from '../taskcluster/options.ts';
import { newTaskId } from '../taskcluster/task-id.ts';

export interface CliDecisionOptions {
  readonly repo: string;
  readonly level: Level;
  readonly pr?: boolean;
  readonly builderImage: string;
  readonly dryRun?: boolean;
  readonly submit?: boolean;
  readonly force?: string;
  readonly withDescendants?: boolean;
  readonly publicUrl?: string;
  readonly repoUrl?: string;
  readonly project?: string;
  readonly template?: string;
  /** Builds say what changed since the versions this store holds (`graph --explain`); else they say nothing of it. */
  readonly changes?: MemoryStore;
}

/**
 * Decisions for the CLI: live lookups when the Taskcluster variables are set (and no
 * `--dry-run`); tasks are created only with `--submit`, otherwise build decisions are a preview.
 */
export async function decideForCli(graph: ImageGraph, pushDate: Date, options: CliDecisionOptions): Promise<DecisionRecord> {
  const tcOptions = options.dryRun ? null : taskclusterOptionsFromEnv();
  const project = options.project ?? basename(resolve(options.repo));
  // Loaded only when used: a dry run's process is smaller by the client's API references.
  const taskcluster = tcOptions ? (await import('../taskcluster/client.ts')).createTaskcluster(tcOptions) : null;
  const decider = new Decider({
    taskcluster,
    store: options.changes ?? new MemoryStore(),
    changes: options.changes ?? null,
    template: await TaskTemplate.load(options.template),
    settings: {
      ...DEFAULT_DECISION_SETTINGS,
      builderImage: options.builderImage,
      ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
    },
    newId: newTaskId,
  });
  const request: DecideRequest = {
    push: {
      repository: project,
      repositoryUrl: options.repoUrl ?? `file://${resolve(options.repo)}`,
      rev: graph.rev ?? 'working-folder',
      ref: null,
      level: options.level,
      pullRequest: options.pr ?? false,
      owner: null,
    },
    graph,
    pushDate,
    ...(options.force ? { force: { image: options.force, withDescendants: options.withDescendants ?? false } } : {}),
  };
  const planned = await decider.plan(request);
  return options.submit || decider.dryRun ? decider.submit(planned) : asPreview(planned);
}
