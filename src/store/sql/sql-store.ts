import type { ImageError } from '../../catalog/types.ts';
import type { ContextManifest } from '../../context/manifest.ts';
import {
  parseLevel,
  type ActivityHour,
  type Backlog,
  type ClaimOptions,
  type ContextProvenance,
  type DecidedHead,
  type Delivery,
  type ForceRebuild,
  type ImageHistoryEntry,
  type ImageVersion,
  type StoredManifest,
  type IntakeResult,
  type NewPush,
  type PushPatch,
  type PushRecord,
  type PushSource,
  type PushState,
  type PushStore,
  type RefreshEntry,
  type StuckPush,
  type RefreshOutcome,
  type RefreshRecord,
  type Level,
} from '../../domain/index.ts';
import { type ChangeLimits, DEFAULT_CHANGE_LIMITS } from '../change-limits.ts';
import type { ServiceStore } from '../service-store.ts';
import { storableJson, storableText } from '../storable.ts';
import { getManifests, recordManifests, recordVersions, versionsOfImages } from './changes.ts';
import type { Row, SqlClient } from './client.ts';
import { SqlDecisionStore, iso } from './decision-store.ts';
import { activity, imageHistory } from './history.ts';
import { decidedHeads, listRefreshes, queueRefresh } from './refreshes.ts';

function pushFromRow(r: Row): PushRecord {
  return {
    id: r.id as string,
    source: r.source as PushSource,
    repository: r.repository as string,
    ref: (r.ref as string | null) ?? null,
    rev: r.rev as string,
    level: parseLevel(r.level),
    pullRequest: r.pull_request as boolean,
    owner: (r.owner as string | null) ?? null,
    force: (r.force as ForceRebuild | null) ?? null,
    receivedAt: iso(r.received_at)!,
    state: r.state as PushState,
    attempts: Number(r.attempts),
    notBefore: iso(r.not_before)!,
    claimedBy: (r.claimed_by as string | null) ?? null,
    claimExpiresAt: iso(r.claim_expires_at),
    resolvedRev: (r.resolved_rev as string | null) ?? null,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    lastError: (r.last_error as ImageError | null) ?? null,
    counts: (r.counts as Record<string, number> | null) ?? null,
  };
}

/** Claimable: queued and due, or deciding under a claim that ran out (its holder died). */
const DUE = "((p.state = 'queued' AND p.not_before <= $2::timestamptz) OR (p.state = 'deciding' AND p.claim_expires_at < $2::timestamptz))";

/**
 * The advisory lock claims take: the two-key form, whose keys are apart from the one-key locks
 * the store takes elsewhere (migrations, manifests, a task's digest).
 */
const CLAIM_LOCK = [0x1d_c1a1, 1] as const;

/** Every JSON value the pushes table keeps goes through this: an error's text may hold anything. */
const json = storableJson;
/** A text parameter from outside (a webhook's names, a reason): storable, see storableText. */
const text = (value: string | null | undefined) => (value === null || value === undefined ? null : storableText(value));

/** The service's whole state in PostgreSQL or PGlite. */
export class SqlStore extends SqlDecisionStore implements ServiceStore, PushStore {
  constructor(
    db: SqlClient,
    maxDecisionBytes?: number,
    private readonly changeLimits: ChangeLimits = DEFAULT_CHANGE_LIMITS,
  ) {
    super(db, maxDecisionBytes);
  }

  /**
   * One statement, so one round trip and atomic without a transaction: the push is inserted
   * only if the delivery is new. (The delivery's reference to the push is checked at the end
   * of the statement, when both rows exist.)
   */
  async recordDelivery(delivery: Delivery, push: NewPush | null): Promise<IntakeResult> {
    const [row] = await this.db.query<{ inserted: boolean }>(
      `WITH delivery AS (
         INSERT INTO deliveries (source, delivery_id, event, received_at, ignored_reason, push_id) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (source, delivery_id) DO NOTHING RETURNING push_id
       ), push AS (
         INSERT INTO pushes (id, source, repository, ref, rev, level, pull_request, owner, force, received_at, state, attempts, not_before)
         SELECT push_id, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'queued', 0, $15 FROM delivery WHERE push_id IS NOT NULL
       )
       SELECT EXISTS (SELECT 1 FROM delivery) AS inserted`,
      [
        delivery.source,
        text(delivery.deliveryId),
        text(delivery.event),
        delivery.receivedAt,
        text(delivery.ignoredReason),
        push?.id ?? null,
        push?.source ?? null,
        text(push?.repository),
        text(push?.ref),
        text(push?.rev),
        push?.level ?? null,
        push?.pullRequest ?? null,
        text(push?.owner),
        json(push?.force),
        push?.receivedAt ?? null,
      ],
    );
    if (!row?.inserted) {
      // A repeat: a new statement, whose snapshot sees the first delivery even if it committed just now.
      const [earlier] = await this.db.query<{ push_id: string | null }>('SELECT push_id FROM deliveries WHERE source = $1 AND delivery_id = $2', [
        delivery.source,
        text(delivery.deliveryId),
      ]);
      return { outcome: 'duplicate', pushId: earlier?.push_id ?? null };
    }
    return push ? { outcome: 'queued', pushId: push.id } : { outcome: 'ignored', reason: delivery.ignoredReason ?? 'ignored' };
  }

  async claimPush(worker: string, now: Date, leaseMs: number, options: ClaimOptions = {}): Promise<PushRecord | null> {
    const at = now.toISOString();
    const maxAttempts = options.maxAttempts ?? null;
    return this.db.transaction(async (tx) => {
      // Claims are taken one at a time across every process on the store, so the per-repository
      // count each claim reads includes the claim just before it (a claim is a few ms).
      await tx.query('SELECT pg_advisory_xact_lock($1::int, $2::int)', [...CLAIM_LOCK]);
      if (maxAttempts !== null) {
        // Its holder died (or hung) on it `maxAttempts` times: claiming it again would kill the
        // next one too, unseen. It fails, coded, for an operator to look at and retry.
        await tx.query(
          `UPDATE pushes SET state = 'failed', claimed_by = NULL, claim_expires_at = NULL, finished_at = $1::timestamptz,
             last_error = jsonb_build_object('code', 'internal-error', 'message',
               'abandoned after ' || attempts || ' attempts: each worker deciding it stopped without recording an outcome (its process died or hung)')
           WHERE state = 'deciding' AND claim_expires_at < $1::timestamptz AND attempts >= $2`,
          [at, maxAttempts],
        );
      }
      // A push's turn is how many of its repository's pushes are being decided plus how many of
      // its due pushes are older: the lowest turn is claimed, the oldest first among equals. A
      // repository already holding `maxPerRepository` workers gets none. The row lock and the due
      // condition, checked again on the locked row, keep each push claimed once.
      const [row] = await tx.query(
        `WITH running AS (
           SELECT repository, count(*) AS n FROM pushes
           WHERE state = 'deciding' AND claim_expires_at >= $2::timestamptz GROUP BY repository
         ), turns AS (
           SELECT p.id, COALESCE(r.n, 0) + row_number() OVER (PARTITION BY p.repository ORDER BY p.received_at, p.id) AS turn
           FROM pushes p LEFT JOIN running r ON r.repository = p.repository
           WHERE ${DUE} AND p.repository <> ALL($4::text[]) AND COALESCE(r.n, 0) < $5::int
         )
         UPDATE pushes SET state = 'deciding', claimed_by = $1, claim_expires_at = $3::timestamptz, attempts = attempts + 1,
           not_before = $2::timestamptz, started_at = COALESCE(started_at, $2::timestamptz)
         WHERE id = (
           SELECT p.id FROM pushes p JOIN turns t ON t.id = p.id
           WHERE ${DUE}
           ORDER BY t.turn, p.received_at, p.id LIMIT 1 FOR UPDATE OF p SKIP LOCKED)
         RETURNING *`,
        [worker, at, new Date(now.getTime() + leaseMs).toISOString(), options.skipRepositories ?? [], options.maxPerRepository ?? 2_147_483_647],
      );
      return row ? pushFromRow(row) : null;
    });
  }

  async renewClaim(pushId: string, worker: string, until: Date): Promise<boolean> {
    const rows = await this.db.query("UPDATE pushes SET claim_expires_at = $3 WHERE id = $1 AND claimed_by = $2 AND state = 'deciding' RETURNING id", [
      pushId,
      worker,
      until.toISOString(),
    ]);
    return rows.length > 0;
  }

  async updatePush(pushId: string, worker: string, patch: PushPatch): Promise<boolean> {
    const sets: string[] = [];
    const params: unknown[] = [pushId, worker];
    const set = (column: string, value: unknown) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (patch.state !== undefined) set('state', patch.state);
    if (patch.attempts !== undefined) set('attempts', patch.attempts);
    if (patch.resolvedRev !== undefined) set('resolved_rev', patch.resolvedRev);
    if (patch.notBefore !== undefined) set('not_before', patch.notBefore);
    if (patch.lastError !== undefined) set('last_error', json(patch.lastError));
    if (patch.counts !== undefined) set('counts', json(patch.counts));
    if (patch.finishedAt !== undefined) set('finished_at', patch.finishedAt);
    if (patch.state !== undefined && patch.state !== 'deciding') sets.push('claimed_by = NULL', 'claim_expires_at = NULL');
    const holds = "WHERE id = $1 AND claimed_by = $2 AND state = 'deciding'";
    // An empty patch still answers whether the claim is held, as the interface promises.
    const rows = await this.db.query(sets.length === 0 ? `SELECT id FROM pushes ${holds}` : `UPDATE pushes SET ${sets.join(', ')} ${holds} RETURNING id`, params);
    return rows.length > 0;
  }

  async releaseClaims(worker: string): Promise<number> {
    const rows = await this.db.query("UPDATE pushes SET state = 'queued', claimed_by = NULL, claim_expires_at = NULL WHERE claimed_by = $1 AND state = 'deciding' RETURNING id", [
      worker,
    ]);
    return rows.length;
  }

  async retryPush(pushId: string, now: Date): Promise<PushRecord | null> {
    const [row] = await this.db.query(
      `UPDATE pushes SET state = 'queued', not_before = $2, finished_at = NULL,
         attempts = CASE WHEN state = 'failed' THEN 0 ELSE attempts END
       WHERE id = $1 AND state IN ('failed', 'queued') RETURNING *`,
      [pushId, now.toISOString()],
    );
    return row ? pushFromRow(row) : null;
  }

  async getPush(pushId: string): Promise<PushRecord | null> {
    const [row] = await this.db.query('SELECT * FROM pushes WHERE id = $1', [pushId]);
    return row ? pushFromRow(row) : null;
  }

  async listPushes(filter: { repository?: string; limit: number }): Promise<PushRecord[]> {
    const rows = await this.db.query('SELECT * FROM pushes WHERE ($1::text IS NULL OR repository = $1) ORDER BY received_at DESC, id DESC LIMIT $2', [
      filter.repository ?? null,
      filter.limit,
    ]);
    return rows.map(pushFromRow);
  }

  async findPushByRev(repository: string, rev: string): Promise<PushRecord | null> {
    const [row] = await this.db.query('SELECT * FROM pushes WHERE repository = $1 AND (rev = $2 OR resolved_rev = $2) ORDER BY received_at DESC, id DESC LIMIT 1', [
      repository,
      rev,
    ]);
    return row ? pushFromRow(row) : null;
  }

  async backlog(): Promise<Backlog> {
    const [row] = await this.db.query(
      "SELECT count(*) FILTER (WHERE state = 'queued') AS queued, count(*) FILTER (WHERE state = 'deciding') AS deciding, min(received_at) FILTER (WHERE state = 'queued') AS oldest FROM pushes WHERE state IN ('queued', 'deciding')",
    );
    return { queued: Number(row?.queued ?? 0), deciding: Number(row?.deciding ?? 0), oldestQueuedAt: iso(row?.oldest) };
  }

  async stuckPushes(claimedBefore: Date, maxAttempts: number): Promise<StuckPush[]> {
    // A deciding push's not_before is when it was claimed (set by claimPush).
    const rows = await this.db.query(
      `SELECT id, repository, not_before, attempts FROM pushes
       WHERE state = 'deciding' AND (not_before < $1::timestamptz OR attempts > $2) ORDER BY not_before, id LIMIT 20`,
      [claimedBefore.toISOString(), maxAttempts],
    );
    return rows.map((r) => ({ id: r.id as string, repository: r.repository as string, claimedAt: iso(r.not_before)!, attempts: Number(r.attempts) }));
  }

  async recordContexts(list: readonly ContextProvenance[]): Promise<void> {
    if (list.length === 0) return;
    await this.db.query(
      `INSERT INTO contexts (context_hash, repository, rev, image, algorithm, recorded_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
       ON CONFLICT (context_hash) DO NOTHING`,
      [
        list.map((p) => p.contextHash),
        list.map((p) => p.repository),
        list.map((p) => p.rev),
        list.map((p) => p.image),
        list.map((p) => p.algorithm),
        list.map((p) => p.recordedAt),
      ],
    );
  }

  async findContext(contextHash: string): Promise<ContextProvenance | null> {
    const [r] = await this.db.query('SELECT * FROM contexts WHERE context_hash = $1', [contextHash]);
    if (!r) return null;
    return { contextHash, repository: r.repository as string, rev: r.rev as string, image: r.image as string, algorithm: r.algorithm as string, recordedAt: iso(r.recorded_at)! };
  }

  imageHistory(repository: string, image: string, limit: number): Promise<ImageHistoryEntry[]> {
    return imageHistory(this.db, repository, image, limit);
  }

  activity(query: { since: Date; until: Date; repository?: string }): Promise<ActivityHour[]> {
    return activity(this.db, query);
  }

  decidedHeads(repository: string, level: Level): Promise<DecidedHead[]> {
    return decidedHeads(this.db, repository, level);
  }

  queueRefresh(refresh: RefreshRecord, push: NewPush): Promise<RefreshOutcome> {
    return queueRefresh(this.db, refresh, push);
  }

  listRefreshes(query: { readonly expiresAfter: Date }): Promise<RefreshEntry[]> {
    return listRefreshes(this.db, query);
  }

  recordManifests(manifests: readonly StoredManifest[], at: Date): Promise<void> {
    return recordManifests(this.db, manifests, at, this.changeLimits);
  }

  getManifests(contextHashes: readonly string[]): Promise<Map<string, ContextManifest>> {
    return getManifests(this.db, contextHashes);
  }

  recordVersions(versions: readonly ImageVersion[]): Promise<void> {
    return recordVersions(this.db, versions, this.changeLimits);
  }

  versionsOfImages(repository: string, images: readonly string[]): Promise<Map<string, ImageVersion[]>> {
    return versionsOfImages(this.db, repository, images);
  }

  async ping(): Promise<void> {
    await this.db.query('SELECT 1');
  }

  private closing: Promise<void> | null = null;

  /** Idempotent: shutdown paths may close it more than once. */
  close(): Promise<void> {
    this.closing ??= this.db.close();
    return this.closing;
  }
}
