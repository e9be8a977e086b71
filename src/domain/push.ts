import type { ImageError } from '../catalog/types.ts';
import type { ForceRebuild } from './decision.ts';
import type { Level } from './level.ts';

export type PushSource = 'github' | 'gitlab' | 'generic' | 'rebuild';

/**
 * `queued` waits for a worker (again after a retryable failure, with `notBefore`);
 * `deciding` is claimed by a worker until `claimExpiresAt`; `decided` and `failed` are final.
 */
export type PushState = 'queued' | 'deciding' | 'decided' | 'failed';

export interface NewPush {
  readonly id: string;
  readonly source: PushSource;
  /** The configured repository name. */
  readonly repository: string;
  readonly ref: string | null;
  /** The revision pushed: a full sha from webhooks, possibly a ref from operators. */
  readonly rev: string;
  readonly level: Level;
  readonly pullRequest: boolean;
  readonly owner: string | null;
  readonly force: ForceRebuild | null;
  readonly receivedAt: string;
}

export interface PushRecord extends NewPush {
  readonly state: PushState;
  readonly attempts: number;
  /** Queued: when it is due. Deciding: when it was claimed (how long the current attempt has run). */
  readonly notBefore: string;
  readonly claimedBy: string | null;
  readonly claimExpiresAt: string | null;
  /** The full sha once the revision was read. */
  readonly resolvedRev: string | null;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly lastError: ImageError | null;
  /** Image counts by decision, once decided. */
  readonly counts: Readonly<Record<string, number>> | null;
}

export interface Delivery {
  readonly source: PushSource;
  /** Unique per source: `X-GitHub-Delivery`, a GitLab event UUID, or a hash of the body. */
  readonly deliveryId: string;
  readonly event: string;
  readonly receivedAt: string;
  /** Why nothing was queued, for ignored deliveries. */
  readonly ignoredReason: string | null;
}

export type IntakeResult =
  | { readonly outcome: 'queued'; readonly pushId: string }
  | { readonly outcome: 'ignored'; readonly reason: string }
  | { readonly outcome: 'duplicate'; readonly pushId: string | null };

export interface ClaimOptions {
  readonly skipRepositories?: readonly string[];
  /** At most this many pushes of one repository are being decided at once (all workers on the store). */
  readonly maxPerRepository?: number;
  /**
   * A push whose claim ran out after this many claims (its process keeps dying on it) is not
   * claimed again: it is failed (`internal-error`, "abandoned after N attempts").
   */
  readonly maxAttempts?: number;
}

export interface PushPatch {
  readonly state?: PushState;
  /** Gives back the claim's attempt (a push that waited for an unreachable upstream did not try). */
  readonly attempts?: number;
  readonly resolvedRev?: string | null;
  readonly notBefore?: string;
  readonly lastError?: ImageError | null;
  readonly counts?: Readonly<Record<string, number>> | null;
  readonly finishedAt?: string | null;
}

/** Where a context tarball came from, so it can be re-made when not cached. */
export interface ContextProvenance {
  readonly contextHash: string;
  readonly repository: string;
  readonly rev: string;
  readonly image: string;
  readonly algorithm: string;
  readonly recordedAt: string;
}

export interface StuckPush {
  readonly id: string;
  readonly repository: string;
  readonly claimedAt: string;
  readonly attempts: number;
}

export interface Backlog {
  readonly queued: number;
  readonly deciding: number;
  readonly oldestQueuedAt: string | null;
}

/** The service's durable state besides decisions; see DecisionStore for those. */
export interface PushStore {
  /**
   * One transaction: the delivery (deduplicated by source and id) and, unless it is ignored,
   * its push in state `queued`. A delivery seen before changes nothing.
   */
  recordDelivery(delivery: Delivery, push: NewPush | null): Promise<IntakeResult>;
  /**
   * A queued push whose `notBefore` has passed, or a deciding one whose claim expired. Fair
   * between repositories: the oldest due push of the repository with the fewest pushes being
   * decided, counting its due pushes older than that one too (so of two repositories with work,
   * each gets every other claim, and one holding more than its share gets none until the
   * others catch up). Pushes of `skipRepositories` (their upstream is unreachable) are left queued.
   */
  claimPush(worker: string, now: Date, leaseMs: number, options?: ClaimOptions): Promise<PushRecord | null>;
  /** Extends the claim; false when the worker no longer holds it. */
  renewClaim(pushId: string, worker: string, until: Date): Promise<boolean>;
  /** Applies the patch only while `worker` holds the claim (and clears the claim when the state leaves `deciding`). */
  updatePush(pushId: string, worker: string, patch: PushPatch): Promise<boolean>;
  /** Gives claims back (graceful shutdown): `deciding` pushes of the worker return to `queued`. */
  releaseClaims(worker: string): Promise<number>;
  /**
   * An operator's retry: a `failed` push is queued again at once with its attempts reset
   * (a `queued` one waiting out a backoff is made due now). null when no such push is
   * failed or queued.
   */
  retryPush(pushId: string, now: Date): Promise<PushRecord | null>;
  getPush(pushId: string): Promise<PushRecord | null>;
  /** Newest first. */
  listPushes(filter: { repository?: string; limit: number }): Promise<PushRecord[]>;
  /** The newest push of a repository whose rev or resolved rev equals `rev`. */
  findPushByRev(repository: string, rev: string): Promise<PushRecord | null>;
  backlog(): Promise<Backlog>;
  /**
   * Pushes that are not making progress: deciding under a claim taken before `claimedBefore`
   * (a decision hung), or deciding past `maxAttempts` claims.
   */
  stuckPushes(claimedBefore: Date, maxAttempts: number): Promise<StuckPush[]>;
  /** Keeps the first provenance of each hash; one round trip for a whole graph. */
  recordContexts(provenances: readonly ContextProvenance[]): Promise<void>;
  findContext(contextHash: string): Promise<ContextProvenance | null>;
  /** Used by health checks: throws when the store cannot answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** One push's decision for one image, as the image's history shows it. */
export interface ImageHistoryEntry {
  readonly pushId: string;
  /** The resolved sha when known, else the revision pushed. */
  readonly rev: string;
  readonly ref: string | null;
  readonly receivedAt: string;
  readonly decidedAt: string | null;
  readonly decision: string;
  readonly reason: string;
  readonly taskId: string | null;
  readonly digest: string | null;
  readonly contextHash: string | null;
  readonly artifactUrl: string | null;
  readonly dryRun: boolean;
  readonly forced: boolean;
}

/** One hour of work (UTC, `hour` its start): pushes finished in it, their latency, builds submitted in it. */
export interface ActivityHour {
  readonly hour: string;
  readonly decided: number;
  readonly failed: number;
  /** Seconds from receipt to decided, over the pushes decided in the hour (nearest rank); null when none. */
  readonly latencyP50: number | null;
  readonly latencyP95: number | null;
  /** Build tasks created in the Queue (submitted) in the hour. */
  readonly builds: number;
}

/** Read-only summaries of the stored pushes and decisions, for the dashboard's pictures. */
export interface HistoryStore {
  /** The image's decision in each push of the repository that decided it, newest push first. */
  imageHistory(repository: string, image: string, limit: number): Promise<ImageHistoryEntry[]>;
  /** The hours in [since, until) with any activity, oldest first; optionally of one repository. */
  activity(query: { since: Date; until: Date; repository?: string }): Promise<ActivityHour[]>;
}
