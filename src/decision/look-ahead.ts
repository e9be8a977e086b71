import type { Level } from '../domain/index.ts';
import type { ImageGraph } from '../graph/types.ts';
import type { Taskcluster } from '../taskcluster/types.ts';
import { type CompletedRuns, type Prefetch, lookUp } from './lookup.ts';

/**
 * Index lookups started before a push's graph is known. A push's index paths come from
 * context hashes, so they are known only once the mirror has fetched the commit; but most
 * pushes change no image, and then they are the paths of the previous plan at the same level.
 * Those are looked up while the mirror fetches; the plan reuses the answers for the paths that
 * match and looks up only the others. The answers are as fresh as those of a lookup made
 * when the push is taken up, which is all a plan ever has: the Index may change just after.
 */
export class LookAhead {
  private readonly recent = new Map<string, readonly string[]>();

  constructor(
    private readonly tc: Taskcluster,
    private readonly runs: CompletedRuns,
  ) {}

  /** Keeps the paths of a graph's builds as the next guess for its level. */
  remember(graph: ImageGraph, level: Level, pullRequest: boolean): void {
    const paths = graph.images.filter((n) => n.kind === 'build').flatMap((n) => n.indexPaths);
    this.recent.set(key(level, pullRequest), [...new Set(paths)]);
  }

  /** Starts looking up the last remembered paths for this level; null when none are. */
  start(level: Level, pullRequest: boolean): Prefetch | null {
    const paths = this.recent.get(key(level, pullRequest));
    if (!paths?.length) return null;
    // A failure here is no failure of the push: the plan looks the paths up again.
    return { paths: new Set(paths), snapshot: lookUp(this.tc, paths, this.runs).catch(() => null) };
  }
}

function key(level: Level, pullRequest: boolean): string {
  return `${level}:${pullRequest}`;
}
