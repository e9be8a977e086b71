import { imageJson } from '../graph/image-json.ts';
import { contextUrl } from '../decision/task-input.ts';
import type { DecisionRecord, ImageDecision, PushRecord } from '../domain/index.ts';

export const CONTEXT_NOT_SERVED = 'not served yet: this is a preview and no push has recorded this context; its URL is given once a push of this revision is decided';

/**
 * One image as the API shows it: the graph node's fields and the decision's. A context in
 * `unserved` (a preview's, recorded by no push) gets no URL but a note saying why.
 */
export function imageView(d: ImageDecision, publicUrl: string, withDefinition = false, unserved: ReadonlySet<string> = new Set()): Record<string, unknown> {
  const built = d.contextHash && d.node?.kind === 'build' ? d.contextHash : null;
  const served = built !== null && !unserved.has(built);
  return {
    ...(d.node ? imageJson(d.node) : { contextHash: d.contextHash, digest: d.digest }),
    decision: d.decision,
    reason: d.reason,
    facts: d.facts,
    taskId: d.taskId,
    artifactUrl: d.artifactUrl,
    contextUrl: served ? contextUrl(publicUrl, built) : null,
    ...(built !== null && !served ? { contextUrlNote: CONTEXT_NOT_SERVED } : {}),
    ...(d.dryRun ? { dryRun: true } : {}),
    ...(d.changes ? { changes: d.changes } : {}),
    ...(withDefinition && d.definition ? { definition: d.definition } : {}),
  };
}

export function pushView(p: PushRecord): Record<string, unknown> {
  const seconds = p.finishedAt ? (Date.parse(p.finishedAt) - Date.parse(p.receivedAt)) / 1000 : null;
  return {
    id: p.id,
    source: p.source,
    repository: p.repository,
    ref: p.ref,
    rev: p.rev,
    resolvedRev: p.resolvedRev,
    level: p.level,
    pullRequest: p.pullRequest,
    state: p.state,
    attempts: p.attempts,
    receivedAt: p.receivedAt,
    startedAt: p.startedAt,
    finishedAt: p.finishedAt,
    seconds,
    lastError: p.lastError,
    counts: p.counts,
    force: p.force,
  };
}

export interface GraphViewInput {
  readonly repo: string;
  readonly rev: string;
  readonly state: string;
  readonly push: PushRecord | null;
  readonly record: DecisionRecord | null;
  readonly publicUrl: string;
  readonly withDefinitions: boolean;
  readonly unservedContexts: ReadonlySet<string>;
}

export function graphView(input: GraphViewInput): Record<string, unknown> {
  const { record, push } = input;
  const images: Record<string, unknown> = {};
  for (const d of record?.images ?? []) images[d.name] = imageView(d, input.publicUrl, input.withDefinitions, input.unservedContexts);
  return {
    repo: input.repo,
    rev: input.rev,
    state: input.state,
    push: push ? pushView(push) : null,
    level: record?.push.level ?? push?.level ?? 3,
    pullRequest: record?.push.pullRequest ?? push?.pullRequest ?? false,
    dryRun: record?.dryRun ?? false,
    taskGroupId: record && !record.dryRun ? record.taskGroupId : null,
    images,
  };
}
