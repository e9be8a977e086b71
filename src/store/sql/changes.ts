import type { ContextManifest } from '../../context/manifest.ts';
import { decodeManifest, partReader } from '../../context/manifest-encoding.ts';
import type { ImageVersion, StoredManifest } from '../../domain/index.ts';
import type { DigestInputs } from '../../graph/types.ts';
import { type ChangeLimits, manifestsToKeep } from '../change-limits.ts';
import type { Row, SqlClient } from './client.ts';
import { iso } from './decision-store.ts';

/** Manifests written per statement: their JSON is held twice while it is sent (text and protocol buffer). */
const MANIFESTS_PER_INSERT = 8;

/**
 * Serialises the writers of manifests (across processes too): graphs built at once for the same
 * revision record the same parts, and their touches, inserts and prunes would otherwise take
 * row locks in different orders and deadlock. Outside the int4 range of the per-digest locks.
 */
const MANIFESTS_LOCK = 7_274_431_004;

/** Stores each manifest's head and the parts not stored yet, then prunes to the bounds; one writer at a time. */
export function recordManifests(db: SqlClient, list: readonly StoredManifest[], at: Date, limits: ChangeLimits): Promise<void> {
  if (list.length === 0) return Promise.resolve();
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [MANIFESTS_LOCK]);
    await writeManifests(tx, list, at);
    await pruneManifests(tx, at, limits);
  });
}

async function writeManifests(db: SqlClient, list: readonly StoredManifest[], at: Date): Promise<void> {
  const sent = new Set<string>();
  for (let i = 0; i < list.length; i += MANIFESTS_PER_INSERT) {
    const batch = list.slice(i, i + MANIFESTS_PER_INSERT);
    const wanted = batch.flatMap((m) => m.manifest.parts).filter((p) => !sent.has(p.key) && sent.add(p.key));
    // A part already stored (most are: a folder many images include changes seldom) is not sent
    // again: under the writers' lock, what this finds stays until the heads naming it are in.
    const stored =
      wanted.length > 0
        ? new Set((await db.query('SELECT key FROM manifest_parts WHERE key = ANY($1::text[])', [wanted.map((p) => p.key)])).map((r) => r.key as string))
        : new Set<string>();
    const parts = wanted.filter((p) => !stored.has(p.key));
    if (parts.length > 0) {
      await db.query(`INSERT INTO manifest_parts (key, part, bytes) VALUES ${rows(parts.length, ['text', 'text', 'integer'], false)}`, [
        ...parts.flatMap((p) => [p.key, p.text, p.bytes]),
      ]);
    }
    await db.query(
      `INSERT INTO manifests (context_hash, manifest, bytes, parts, recorded_at) VALUES ${rows(batch.length, ['text', 'text', 'integer', 'text[]'])} ON CONFLICT (context_hash) DO NOTHING`,
      [at.toISOString(), ...batch.flatMap((m) => [m.contextHash, m.manifest.head, Buffer.byteLength(m.manifest.head), m.manifest.keys])],
    );
  }
}

/**
 * `count` rows of parameters, one per cast (after `$1`, the time, ending each row when `timed`):
 * one row of parameters per manifest rather than arrays, since a text[] of megabytes of JSON is
 * escaped by the client and parsed by the server as one array literal, several times slower.
 */
function rows(count: number, casts: readonly string[], timed = true): string {
  const first = timed ? 2 : 1;
  const row = (r: number) => casts.map((cast, c) => `$${first + r * casts.length + c}::${cast}`).join(', ');
  return Array.from({ length: count }, (_, r) => `(${row(r)}${timed ? ', $1::timestamptz' : ''})`).join(', ');
}

/** What the bound keeps is decided here (change-limits.ts) from the heads' sizes and parts; the texts are not read. Under the writers' lock. */
async function pruneManifests(db: SqlClient, at: Date, limits: ChangeLimits): Promise<void> {
  const heads = await db.query(
    `SELECT m.context_hash, m.bytes, m.parts, m.recorded_at, u.seen
     FROM manifests m LEFT JOIN LATERAL (SELECT max(seen_at) AS seen FROM image_versions v WHERE v.context_hash = m.context_hash) u ON true`,
  );
  const partBytes = new Map((await db.query('SELECT key, bytes FROM manifest_parts')).map((r) => [r.key as string, r.bytes as number]));
  const uses = heads.map((r) => ({
    hash: r.context_hash as string,
    recordedAt: Date.parse(iso(r.recorded_at)!),
    seen: r.seen === null ? null : Date.parse(iso(r.seen)!),
    bytes: r.bytes as number,
    parts: (r.parts as string[] | null) ?? [],
  }));
  const kept = manifestsToKeep(uses, partBytes, limits, at.getTime());
  const dropped = uses.filter((u) => !kept.has(u.hash)).map((u) => u.hash);
  if (dropped.length > 0) await db.query('DELETE FROM manifests WHERE context_hash = ANY($1::text[])', [dropped]);
  const named = new Set(uses.filter((u) => kept.has(u.hash)).flatMap((u) => u.parts));
  const unnamed = [...partBytes.keys()].filter((key) => !named.has(key));
  if (unnamed.length > 0) await db.query('DELETE FROM manifest_parts WHERE key = ANY($1::text[])', [unnamed]);
}

export async function getManifests(db: SqlClient, hashes: readonly string[]): Promise<Map<string, ContextManifest>> {
  if (hashes.length === 0) return new Map();
  const heads = await db.query('SELECT context_hash, manifest, parts FROM manifests WHERE context_hash = ANY($1::text[])', [hashes]);
  const keys = [...new Set(heads.flatMap((r) => (r.parts as string[] | null) ?? []))];
  const texts = keys.length > 0 ? await db.query('SELECT key, part FROM manifest_parts WHERE key = ANY($1::text[])', [keys]) : [];
  const byKey = new Map(texts.map((r) => [r.key as string, r.part as string]));
  const part = partReader((key) => byKey.get(key));
  const found = new Map<string, ContextManifest>();
  for (const r of heads) {
    const manifest = decodeManifest(r.manifest as string, part);
    if (manifest) found.set(r.context_hash as string, manifest);
  }
  return found;
}

/** One version per revision: a revision decided again keeps the newer sighting (its digest, push, decision and time). */
const UPSERT_VERSIONS = `
  INSERT INTO image_versions (repository, image, digest, context_hash, args, parent, inputs, push_id, rev, decision, task_id, seen_at)
  SELECT r, i, d, c, a::jsonb, p, n::jsonb, u, v, k, t, s
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::timestamptz[])
    AS x(r, i, d, c, a, p, n, u, v, k, t, s)
  ON CONFLICT (repository, image, rev) DO UPDATE SET
    digest = excluded.digest, context_hash = excluded.context_hash, args = excluded.args, parent = excluded.parent, inputs = excluded.inputs,
    push_id = excluded.push_id, decision = excluded.decision, task_id = excluded.task_id, seen_at = excluded.seen_at
  WHERE image_versions.seen_at <= excluded.seen_at`;

/**
 * Keeps each image's `$3` most recently seen revisions, and the newest revision of each of its
 * `$3` most recently seen digests (a branch that has not moved for a while still finds its own).
 */
const PRUNE_VERSIONS = `
  DELETE FROM image_versions v USING (
    SELECT repository, image, rev,
      row_number() OVER (PARTITION BY repository, image ORDER BY seen_at DESC, rev) AS n,
      row_number() OVER (PARTITION BY repository, image, digest ORDER BY seen_at DESC, rev) AS of_digest,
      dense_rank() OVER (PARTITION BY repository, image ORDER BY newest DESC, digest) AS digest_rank
    FROM (SELECT repository, image, rev, digest, seen_at, max(seen_at) OVER (PARTITION BY repository, image, digest) AS newest
          FROM image_versions WHERE repository = $1 AND image = ANY($2::text[])) x
  ) r
  WHERE v.repository = r.repository AND v.image = r.image AND v.rev = r.rev AND r.n > $3 AND NOT (r.of_digest = 1 AND r.digest_rank <= $3)`;

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

export async function versionsOfImages(db: SqlClient, repository: string, images: readonly string[]): Promise<Map<string, ImageVersion[]>> {
  const found = new Map<string, ImageVersion[]>(images.map((image) => [image, []]));
  if (images.length === 0) return found;
  const rows = await db.query('SELECT * FROM image_versions WHERE repository = $1 AND image = ANY($2::text[]) ORDER BY image, seen_at DESC, rev', [repository, [...images]]);
  for (const row of rows) found.get(row.image as string)?.push(versionFromRow(row));
  return found;
}
