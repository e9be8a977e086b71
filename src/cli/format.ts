import type { DecisionRecord, ImageDecision } from '../domain/index.ts';
import { imageJson } from '../graph/image-json.ts';
import type { ImageGraph } from '../graph/types.ts';

/** The `graph --json` document; other tools parse it, so its names are a contract. */
export function graphJson(repo: string, graph: ImageGraph, record?: DecisionRecord, options = { definitions: false }): Record<string, unknown> {
  const decisions = new Map(record?.images.map((d) => [d.name, d]));
  const images: Record<string, unknown> = {};
  for (const image of graph.images) images[image.name] = { ...imageJson(image), ...decisionJson(decisions.get(image.name), options.definitions) };
  return {
    repo,
    rev: graph.rev,
    level: graph.level,
    pullRequest: graph.pullRequest,
    algorithm: graph.algorithm,
    trustDomain: graph.trustDomain,
    ...(record ? { dryRun: record.dryRun, taskGroupId: record.dryRun ? null : record.taskGroupId } : {}),
    warnings: graph.warnings,
    images,
  };
}

function decisionJson(d: ImageDecision | undefined, definitions: boolean): Record<string, unknown> {
  if (!d) return {};
  return {
    decision: d.decision,
    reason: d.reason,
    taskId: d.taskId,
    artifactUrl: d.artifactUrl,
    facts: d.facts,
    ...(d.dryRun ? { dryRun: true } : {}),
    ...(d.changes ? { changes: d.changes } : {}),
    ...(definitions && d.definition ? { definition: d.definition } : {}),
  };
}

/** A readable table: one row per image, parents first. */
export function graphTable(repo: string, graph: ImageGraph, record?: DecisionRecord): string {
  const decisions = new Map(record?.images.map((d) => [d.name, d]));
  const rows = graph.images.map((i) => [
    i.name,
    decisions.get(i.name)?.decision ?? i.kind,
    decisions.get(i.name)?.dryRun ? '(dry run)' : (decisions.get(i.name)?.taskId ?? '-'),
    i.parent ?? '-',
    i.contextHash?.slice(0, 12) ?? '-',
    i.digest?.slice(0, 12) ?? '-',
    i.reference ?? (i.error ? `${i.error.code}: ${i.error.message}` : (decisions.get(i.name)?.reason ?? i.indexPaths[0] ?? '')),
  ]);
  const header = ['IMAGE', 'DECISION', 'TASK', 'PARENT', 'CONTEXT', 'DIGEST', 'NOTE'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ');
  const title = `${repo} @ ${graph.rev ?? '(working folder)'}  level ${graph.level}${graph.pullRequest ? ' (pull request)' : ''}  ${graph.algorithm}  trust domain ${graph.trustDomain ?? '-'}`;
  return [title, '', line(header), ...rows.map(line), ...graph.warnings.map((w) => `warning: ${w}`)].join('\n');
}
