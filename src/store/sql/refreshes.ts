import type { DecidedHead, DecisionRecord, Level, NewPush, PushState, RefreshEntry, RefreshOutcome, RefreshRecord } from '../../domain/index.ts';
import type { Row, SqlClient } from './client.ts';
import { iso } from './decision-store.ts';

const DECIDED_HEADS = `
  SELECT DISTINCT ON (p.ref) p.ref, p.id, d.record
  FROM pushes p JOIN decisions d ON d.id = p.id
  WHERE p.repository = $1 AND p.level = $2 AND NOT p.pull_request AND p.state = 'decided' AND p.ref LIKE 'refs/heads/%'
    AND NOT COALESCE((d.record->>'dryRun')::boolean, false)
  ORDER BY p.ref, p.received_at DESC, p.id DESC`;

export async function decidedHeads(db: SqlClient, repository: string, level: Level): Promise<DecidedHead[]> {
  const rows = await db.query(DECIDED_HEADS, [repository, level]);
  return rows.map((r) => ({ ref: r.ref as string, pushId: r.id as string, record: r.record as DecisionRecord }));
}

/**
 * The refresh is inserted only if new, and the push only with it: both or neither, in one
 * statement (the refresh's reference to its push is checked at the statement's end).
 */
const QUEUE_REFRESH = `
  WITH refresh AS (
    INSERT INTO refreshes (repository, digest, task_id, image, expires, push_id, queued_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (repository, digest, task_id) DO NOTHING RETURNING push_id
  ), push AS (
    INSERT INTO pushes (id, source, repository, ref, rev, level, pull_request, owner, force, received_at, state, attempts, not_before)
    SELECT push_id, $8, $9, $10, $11, $12, $13, $14, $15, $16, 'queued', 0, $16 FROM refresh
  )
  SELECT EXISTS (SELECT 1 FROM refresh) AS inserted`;

function refreshFromRow(r: Row): RefreshRecord {
  return {
    repository: r.repository as string,
    image: r.image as string,
    digest: r.digest as string,
    taskId: r.task_id as string,
    expires: iso(r.expires)!,
    pushId: r.push_id as string,
    queuedAt: iso(r.queued_at)!,
  };
}

export async function queueRefresh(db: SqlClient, refresh: RefreshRecord, push: NewPush): Promise<RefreshOutcome> {
  const [row] = await db.query<{ inserted: boolean }>(QUEUE_REFRESH, [
    refresh.repository,
    refresh.digest,
    refresh.taskId,
    refresh.image,
    refresh.expires,
    push.id,
    refresh.queuedAt,
    push.source,
    push.repository,
    push.ref,
    push.rev,
    push.level,
    push.pullRequest,
    push.owner,
    push.force === null ? null : JSON.stringify(push.force),
    push.receivedAt,
  ]);
  if (row?.inserted) return { queued: true };
  // A new statement: its snapshot sees the other refresh even if it committed just now.
  const [existing] = await db.query('SELECT * FROM refreshes WHERE repository = $1 AND digest = $2 AND task_id = $3', [refresh.repository, refresh.digest, refresh.taskId]);
  return { queued: false, existing: refreshFromRow(existing!) };
}

export async function listRefreshes(db: SqlClient, query: { readonly expiresAfter: Date }): Promise<RefreshEntry[]> {
  const rows = await db.query(
    'SELECT r.*, p.state AS push_state FROM refreshes r LEFT JOIN pushes p ON p.id = r.push_id WHERE r.expires > $1 ORDER BY r.expires, r.repository, r.digest, r.task_id',
    [query.expiresAfter.toISOString()],
  );
  return rows.map((r) => ({ ...refreshFromRow(r), pushState: (r.push_state as PushState | null) ?? null }));
}
