import type { ImageGraph, ImageNode } from '../graph/types.ts';

/** The `graph --json` document; other tools parse it, so its names are a contract. */
export function graphJson(repo: string, graph: ImageGraph): Record<string, unknown> {
  const images: Record<string, unknown> = {};
  for (const image of graph.images) images[image.name] = imageJson(image);
  return {
    repo,
    rev: graph.rev,
    level: graph.level,
    pullRequest: graph.pullRequest,
    algorithm: graph.algorithm,
    trustDomain: graph.trustDomain,
    warnings: graph.warnings,
    images,
  };
}

function imageJson(image: ImageNode): Record<string, unknown> {
  return {
    kind: image.kind,
    contextDir: image.contextDir,
    parent: image.parent,
    args: image.args,
    contextHash: image.contextHash,
    digest: image.digest,
    indexPaths: image.indexPaths,
    routes: image.routes,
    ...(image.reference !== undefined ? { reference: image.reference } : {}),
    ...(image.error ? { error: image.error } : {}),
    ...(image.blockedBy ? { blockedBy: image.blockedBy } : {}),
  };
}

/** A readable table: one row per image, parents first. */
export function graphTable(repo: string, graph: ImageGraph): string {
  const rows = graph.images.map((i) => [
    i.name,
    i.kind,
    i.parent ?? '-',
    i.contextHash?.slice(0, 12) ?? '-',
    i.digest?.slice(0, 12) ?? '-',
    i.reference ?? (i.error ? `${i.error.code}: ${i.error.message}` : (i.indexPaths[0] ?? '')),
  ]);
  const header = ['IMAGE', 'KIND', 'PARENT', 'CONTEXT', 'DIGEST', 'INDEX PATH / NOTE'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ');
  const title = `${repo} @ ${graph.rev ?? '(working folder)'}  level ${graph.level}${graph.pullRequest ? ' (pull request)' : ''}  ${graph.algorithm}  trust domain ${graph.trustDomain ?? '-'}`;
  return [title, '', line(header), ...rows.map(line), ...graph.warnings.map((w) => `warning: ${w}`)].join('\n');
}
