import { decodeManifest, encodeManifest, type ContextManifest } from '../../context/manifest.ts';
import type { ImageVersion, StoredManifest } from '../../domain/index.ts';
import type { DigestInputs } from '../../graph/types.ts';
import type { ChangeLimits } from '../change-limits.ts';
import type { Row, SqlClient } from './client.ts';
import { iso } from './decision-store.ts';

/** Manifests written per statement: their JSON is held twice while it is sent (text and protocol buffer). */
const MANIFESTS_PER_INSERT = 8;

export async function recordManifests(db: SqlClient, list: readonly StoredManifest[], at: Date): Promise<void> {
  for (let i = 0; i < list.length; i += MANIFESTS_PER_INSERT) await insertManifests(db, list.slice(i, i + MANIFESTS_PER_INSERT), at);
}

async function insertManifests(db: SqlClient, list: readonly StoredManifest[], at: Date): Promise<void> {
  // One row of parameters per manifest rather than arrays: a text[] of megabytes of JSON is
  // escaped by the client and parsed by the server as one array literal, several times slower.
  const params: unknown[] = [at.toISOString()];
  const rows = list.map((m) => {
    const text = encodeManifest(m.manifest);
    params.push(m.contextHash, text, Buffer.byteLength(text));
    const n = params.length;
    return `($${n - 2}, $${n - 1}, $${n}::integer, $1::timestamptz)`;
  });
  await db.query(`INSERT INTO manifests (context_hash, manifest, bytes, recorded_at) VALUES ${rows.join(', ')} ON CONFLICT (context_hash) DO NOTHING`, params);
}

export async function getManifests(db: SqlClient, hashes: readonly string[]): Promise<Map<string, ContextManifest>> {
  if (hashes.length === 0) return new Map();
  const rows = await db.query('SELECT context_hash, manifest FROM manifests WHERE context_hash = ANY($1::text[])', [hashes]);
  return new Map(rows.map((r) => [r.context_hash as string, decodeManifest(r.manifest as string)]));
}

/** A version seen again keeps the newer sighting (its push, decision and time). */
const UPSERT_VERSIONS = `
  INSERT INTO image_versions (repository, image, digest, context_hash, args, parent, inputs, push_id, rev, decision, task_id, seen_at)
  SELECT r, i, d, c, a::jsonb, p, n::jsonb, u, v, k, t, s
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::timestamptz[])
    AS x(r, i, d, c, a, p, n, u, v, k, t, s)
  ON CONFLICT (repository, image, digest) DO UPDATE SET
    context_hash = excluded.context_hash, args = excluded.args, parent = excluded.parent, inputs = excluded.inputs, push_id = excluded.push_id,
    rev = excluded.rev, decision = excluded.decision, task_id = excluded.task_id, seen_at = excluded.seen_at
  WHERE image_versions.seen_at <= excluded.seen_at`;

const PRUNE_VERSIONS = `
  DELETE FROM image_versions v USING (
    SELECT repository, image, digest, row_number() OVER (PARTITION BY repository, image ORDER BY seen_at DESC, digest) AS n
    FROM image_versions WHERE repository = $1 AND image = ANY($2::text[])
  ) r
  WHERE v.repository = r.repository AND v.image = r.image AND v.digest = r.digest AND r.n > $3`;

/**
 * Unnamed manifests past their grace, then whatever is past the byte bound, least recently
 * needed first: by the latest of its recording and the last sighting of a version naming it.
 */
const PRUNE_MANIFESTS = `
  WITH needed AS (
    SELECT m.context_hash, m.recorded_at, m.bytes, u.seen
    FROM manifests m LEFT JOIN LATERAL (SELECT max(seen_at) AS seen FROM image_versions v WHERE v.context_hash = m.context_hash) u ON true
  ), kept AS (
    SELECT context_hash, sum(bytes) OVER (ORDER BY GREATEST(seen, recorded_at) DESC, context_hash) AS total
    FROM needed WHERE seen IS NOT NULL OR recorded_at >= $1
  )
  DELETE FROM manifests m WHERE NOT EXISTS (SELECT 1 FROM kept k WHERE k.context_hash = m.context_hash AND k.total <= $2)`;

export async function recordVersions(db: SqlClient, list: readonly ImageVersion[], limits: ChangeLimits): Promise<void> {
  if (list.length === 0) return;
  const column = <K extends keyof ImageVersion>(key: K) => list.map((v) => v[key]);
  await db.query(UPSERT_VERSIONS, [
    column('repository'),
    column('image'),
    column('digest'),
    column('contextHash'),
    list.map((v) => JSON.stringify(v.args)),
    column('parent'),
    list.map((v) => (v.inputs ? JSON.stringify(v.inputs) : null)),
    column('pushId'),
    column('rev'),
    column('decision'),
    column('taskId'),
    column('seenAt'),
  ]);
  for (const repository of new Set(list.map((v) => v.repository))) {
    const images = [...new Set(list.filter((v) => v.repository === repository).map((v) => v.image))];
    await db.query(PRUNE_VERSIONS, [repository, images, limits.versionsPerImage]);
  }
  const grace = new Date(Date.parse(list[0]!.seenAt) - limits.unnamedManifestMs).toISOString();
  await db.query(PRUNE_MANIFESTS, [grace, limits.manifestBytes]);
}

function versionFromRow(r: Row): ImageVersion {
  return {
    repository: r.repository as string,
    image: r.image as string,
    digest: r.digest as string,
    contextHash: r.context_hash as string,
    args: r.args as Record<string, string>,
    parent: (r.parent as string | null) ?? null,
    inputs: (r.inputs as DigestInputs | null) ?? null,
    pushId: r.push_id as string,
    rev: r.rev as string,
    decision: r.decision as string,
    taskId: (r.task_id as string | null) ?? null,
    seenAt: iso(r.seen_at)!,
  };
}

export async function versionsOf(db: SqlClient, repository: string, image: string, digest: string): Promise<{ same: ImageVersion | null; other: ImageVersion | null }> {
  const rows = await db.query(
    `(SELECT * FROM image_versions WHERE repository = $1 AND image = $2 AND digest = $3)
     UNION ALL
     (SELECT * FROM image_versions WHERE repository = $1 AND image = $2 AND digest <> $3 ORDER BY seen_at DESC, digest LIMIT 1)`,
    [repository, image, digest],
  );
  const versions = rows.map(versionFromRow);
  return { same: versions.find((v) => v.digest === digest) ?? null, other: versions.find((v) => v.digest !== digest) ?? null };
}
