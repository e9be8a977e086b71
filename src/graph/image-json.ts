import type { ImageNode } from './types.ts';

/**
 * One image's own fields as JSON, shown alike by `graph --json` and the API (`/graph`,
 * `/images/<name>`): other tools parse both, so the names are a contract.
 */
export function imageJson(image: ImageNode): Record<string, unknown> {
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
