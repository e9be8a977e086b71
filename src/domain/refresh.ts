import type { DecisionRecord } from './decision.ts';
import type { Level } from './level.ts';
import type { NewPush, PushState } from './push.ts';

/** A rebuild queued because the task serving an image's digest expires soon (src/service/refresh.ts). */
export interface RefreshRecord {
  readonly repository: string;
  readonly image: string;
  readonly digest: string;
  /** The task that expires: a later build of the same digest expiring in its turn is refreshed again. */
  readonly taskId: string;
  /** When it (or its `public/image.tar.zst`, whichever first) expires. */
  readonly expires: string;
  /** The forced rebuild push queued for it. */
  readonly pushId: string;
  readonly queuedAt: string;
}

/** A refresh with the state of its push (null if the push is gone). */
export interface RefreshEntry extends RefreshRecord {
  readonly pushState: PushState | null;
}

export type RefreshOutcome = { readonly queued: true } | { readonly queued: false; readonly existing: RefreshRecord };

/** The newest decided push to one branch, with its decision. */
export interface DecidedHead {
  readonly ref: string;
  readonly pushId: string;
  readonly record: DecisionRecord;
}

/** What the refresher keeps: at most one rebuild per expiring task of a digest, across processes and restarts. */
export interface RefreshStore {
  /**
   * Per branch (`refs/heads/*`) of the repository, its newest decided push at `level`:
   * not a pull request, not a dry run (whose decision names no task).
   */
  decidedHeads(repository: string, level: Level): Promise<DecidedHead[]>;
  /**
   * One statement: the refresh and its push (queued), unless a refresh of the same
   * repository, digest and task was recorded before (by any process): then that one, and
   * nothing is queued.
   */
  queueRefresh(refresh: RefreshRecord, push: NewPush): Promise<RefreshOutcome>;
  /** Refreshes whose expiring task has not expired by `expiresAfter`, soonest first, with their push's state. */
  listRefreshes(query: { readonly expiresAfter: Date }): Promise<RefreshEntry[]>;
}
