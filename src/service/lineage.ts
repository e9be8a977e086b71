import type { Lineage, PushStore } from '../domain/index.ts';
import type { GitMirror } from '../mirror/git-mirror.ts';
import { ancestorPlaces, nearestOf } from '../tree/ancestry.ts';

/** The repository's most recent pushes looked at for ones not decided yet. */
const RECENT_PUSHES = 200;

/**
 * A revision's place among a repository's pushes: its ancestors by git's walk of the mirror's
 * commit graph, and the pushes not decided yet (queued or deciding) among its recent ones.
 */
export function mirrorLineage(mirror: GitMirror, repository: string, rev: string, pushes: Pick<PushStore, 'listPushes'>): Lineage {
  return {
    ancestors: async (revs) => ancestorPlaces((await mirror.repo()).gitDir, rev, revs),
    nearest: async (revs) => nearestOf((await mirror.repo()).gitDir, revs),
    undecided: async () =>
      (await pushes.listPushes({ repository, limit: RECENT_PUSHES }))
        .filter((p) => p.state === 'queued' || p.state === 'deciding')
        .map((p) => ({ pushId: p.id, rev: p.resolvedRev ?? p.rev })),
  };
}
