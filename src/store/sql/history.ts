import type { ActivityHour, ImageHistoryEntry } from '../../domain/index.ts';
import type { SqlClient } from './client.ts';
import { iso } from './decision-store.ts';

/**
 * The image's entry of each decision, newest push first. Only the fields shown are taken out of
 * the record (not its definitions); the decision's id is its push's.
 */
const IMAGE_HISTORY = `
  SELECT p.id, p.rev, p.resolved_rev, p.ref, p.received_at, d.record->>'decidedAt' AS decided_at,
    img->>'decision' AS decision, img->>'reason' AS reason, img->>'taskId' AS task_id, img->>'digest' AS digest,
    img->>'contextHash' AS context_hash, img->>'artifactUrl' AS artifact_url,
    COALESCE((img->>'dryRun')::boolean, (d.record->>'dryRun')::boolean, false) AS dry_run,
    COALESCE((img->>'forced')::boolean, false) AS forced
  FROM pushes p
  JOIN decisions d ON d.id = p.id
  CROSS JOIN LATERAL jsonb_array_elements(d.record->'images') AS img
  WHERE p.repository = $1 AND img->>'name' = $2
  ORDER BY p.received_at DESC, p.id DESC
  LIMIT $3`;

export async function imageHistory(db: SqlClient, repository: string, image: string, limit: number): Promise<ImageHistoryEntry[]> {
  const rows = await db.query(IMAGE_HISTORY, [repository, image, limit]);
  return rows.map((r) => ({
    pushId: r.id as string,
    rev: ((r.resolved_rev as string | null) ?? r.rev) as string,
    ref: (r.ref as string | null) ?? null,
    receivedAt: iso(r.received_at)!,
    decidedAt: (r.decided_at as string | null) ?? null,
    decision: r.decision as string,
    reason: (r.reason as string | null) ?? '',
    taskId: (r.task_id as string | null) ?? null,
    digest: (r.digest as string | null) ?? null,
    contextHash: (r.context_hash as string | null) ?? null,
    artifactUrl: (r.artifact_url as string | null) ?? null,
    dryRun: r.dry_run as boolean,
    forced: r.forced as boolean,
  }));
}

/** The hour a timestamp falls in, as ISO text in UTC (a timestamp without zone would be read as local time by the driver). */
const HOUR = (column: string) => `to_char(date_trunc('hour', ${column} AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:00:00.000"Z"')`;
const LATENCY = 'extract(epoch FROM finished_at - received_at)';

const PUSHES_PER_HOUR = `
  SELECT ${HOUR('finished_at')} AS hour,
    count(*) FILTER (WHERE state = 'decided') AS decided,
    count(*) FILTER (WHERE state = 'failed') AS failed,
    percentile_disc(0.5) WITHIN GROUP (ORDER BY ${LATENCY}) FILTER (WHERE state = 'decided') AS p50,
    percentile_disc(0.95) WITHIN GROUP (ORDER BY ${LATENCY}) FILTER (WHERE state = 'decided') AS p95
  FROM pushes
  WHERE state IN ('decided', 'failed') AND finished_at >= $1 AND finished_at < $2 AND ($3::text IS NULL OR repository = $3)
  GROUP BY 1`;

const BUILDS_PER_HOUR = `
  SELECT ${HOUR('t.submitted_at')} AS hour, count(*) AS builds
  FROM planned_tasks t LEFT JOIN pushes p ON p.id = t.decision_id
  WHERE t.submitted_at >= $1 AND t.submitted_at < $2 AND ($3::text IS NULL OR p.repository = $3)
  GROUP BY 1`;

const number = (value: unknown) => (value === null || value === undefined ? null : Number(value));

export async function activity(db: SqlClient, query: { since: Date; until: Date; repository?: string }): Promise<ActivityHour[]> {
  const params = [query.since.toISOString(), query.until.toISOString(), query.repository ?? null];
  const [pushes, builds] = await Promise.all([db.query(PUSHES_PER_HOUR, params), db.query(BUILDS_PER_HOUR, params)]);
  const hours = new Map<string, { -readonly [K in keyof ActivityHour]: ActivityHour[K] }>();
  const at = (hour: string) => {
    let entry = hours.get(hour);
    if (!entry) hours.set(hour, (entry = { hour, decided: 0, failed: 0, latencyP50: null, latencyP95: null, builds: 0 }));
    return entry;
  };
  for (const r of pushes) Object.assign(at(r.hour as string), { decided: Number(r.decided), failed: Number(r.failed), latencyP50: number(r.p50), latencyP95: number(r.p95) });
  for (const r of builds) at(r.hour as string).builds = Number(r.builds);
  return [...hours.values()].sort((a, b) => a.hour.localeCompare(b.hour));
}
