import type { SqlClient } from './client.ts';

/** Versioned, append-only: a released migration is never edited; a change is a new version. */
export const MIGRATIONS: ReadonlyArray<{ readonly version: number; readonly sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE pushes (
        id text PRIMARY KEY,
        source text NOT NULL,
        repository text NOT NULL,
        ref text,
        rev text NOT NULL,
        level smallint NOT NULL,
        pull_request boolean NOT NULL,
        owner text,
        force jsonb,
        received_at timestamptz NOT NULL,
        state text NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        not_before timestamptz NOT NULL,
        claimed_by text,
        claim_expires_at timestamptz,
        resolved_rev text,
        started_at timestamptz,
        finished_at timestamptz,
        last_error jsonb,
        counts jsonb
      );
      CREATE INDEX pushes_claimable ON pushes (received_at, id) WHERE state IN ('queued', 'deciding');
      CREATE INDEX pushes_by_rev ON pushes (repository, rev);
      CREATE INDEX pushes_by_resolved_rev ON pushes (repository, resolved_rev);
      CREATE INDEX pushes_recent ON pushes (received_at DESC, id DESC);
      CREATE TABLE deliveries (
        source text NOT NULL,
        delivery_id text NOT NULL,
        event text NOT NULL,
        received_at timestamptz NOT NULL,
        ignored_reason text,
        push_id text REFERENCES pushes (id),
        PRIMARY KEY (source, delivery_id)
      );
      CREATE TABLE decisions (
        id text PRIMARY KEY,
        state text NOT NULL,
        created_at timestamptz NOT NULL,
        record jsonb NOT NULL
      );
      CREATE INDEX decisions_unfinished ON decisions (created_at) WHERE state = 'planned';
      CREATE TABLE planned_tasks (
        task_id text PRIMARY KEY,
        decision_id text NOT NULL,
        image text NOT NULL,
        digest text NOT NULL,
        level smallint NOT NULL,
        pull_request boolean NOT NULL,
        definition jsonb NOT NULL,
        input jsonb NOT NULL,
        state text NOT NULL,
        active boolean NOT NULL,
        created_at timestamptz NOT NULL,
        submitted_at timestamptz,
        error jsonb
      );
      CREATE INDEX planned_tasks_by_decision ON planned_tasks (decision_id);
      CREATE INDEX planned_tasks_active ON planned_tasks (digest) WHERE active;
      CREATE TABLE contexts (
        context_hash text PRIMARY KEY,
        repository text NOT NULL,
        rev text NOT NULL,
        image text NOT NULL,
        algorithm text NOT NULL,
        recorded_at timestamptz NOT NULL
      );
    `,
  },
  {
    version: 2,
    sql: `
      CREATE TABLE refreshes (
        repository text NOT NULL,
        digest text NOT NULL,
        task_id text NOT NULL,
        image text NOT NULL,
        expires timestamptz NOT NULL,
        push_id text NOT NULL REFERENCES pushes (id),
        queued_at timestamptz NOT NULL,
        PRIMARY KEY (repository, digest, task_id)
      );
      CREATE INDEX refreshes_by_expiry ON refreshes (expires);
      CREATE INDEX pushes_decided_heads ON pushes (repository, ref, received_at DESC) WHERE state = 'decided' AND NOT pull_request;
    `,
  },
  {
    version: 3,
    sql: `
      CREATE TABLE manifests (
        context_hash text PRIMARY KEY,
        manifest text NOT NULL,
        bytes integer NOT NULL,
        recorded_at timestamptz NOT NULL
      );
      -- Manifests are written by every push that hashes a context, on its way to being decided:
      -- kept out of line but not compressed (compressing them took most of the insert's time).
      ALTER TABLE manifests ALTER COLUMN manifest SET STORAGE EXTERNAL;
      CREATE TABLE image_versions (
        repository text NOT NULL,
        image text NOT NULL,
        digest text NOT NULL,
        context_hash text NOT NULL,
        args jsonb NOT NULL,
        parent text,
        inputs jsonb,
        push_id text NOT NULL,
        rev text NOT NULL,
        decision text NOT NULL,
        task_id text,
        seen_at timestamptz NOT NULL,
        PRIMARY KEY (repository, image, digest)
      );
      CREATE INDEX image_versions_recent ON image_versions (repository, image, seen_at DESC);
      CREATE INDEX image_versions_by_context ON image_versions (context_hash);
    `,
  },
  {
    version: 4,
    sql: `
      -- A manifest's files by the %include they came in by (or the context's own), named by the
      -- SHA-256 of their text: the images that include one folder share its part. A head
      -- stored before (parts NULL) keeps its entries in its own text.
      CREATE TABLE manifest_parts (
        key text PRIMARY KEY,
        part text NOT NULL,
        bytes integer NOT NULL
      );
      ALTER TABLE manifest_parts ALTER COLUMN part SET STORAGE EXTERNAL;
      ALTER TABLE manifests ADD COLUMN parts text[];
    `,
  },
  {
    version: 5,
    sql: `
      -- An image's version per revision (it was per digest, at its last sighting): a build is
      -- compared with its nearest decided ancestor by the commit graph, so each decided
      -- revision keeps its own. Of two digests of one revision, the newer sighting stays.
      DELETE FROM image_versions a USING image_versions b
        WHERE a.repository = b.repository AND a.image = b.image AND a.rev = b.rev AND (a.seen_at, a.digest) < (b.seen_at, b.digest);
      ALTER TABLE image_versions DROP CONSTRAINT image_versions_pkey;
      ALTER TABLE image_versions ADD PRIMARY KEY (repository, image, rev);
      CREATE INDEX image_versions_by_digest ON image_versions (repository, image, digest, seen_at DESC);
    `,
  },
];

/** An arbitrary constant: the advisory lock that serialises concurrent migrators. */
const MIGRATION_LOCK = 7_274_431;

/** Applies the missing migrations, each once, even when several processes start together. */
export async function migrate(client: SqlClient): Promise<number[]> {
  return client.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const done = new Set((await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => r.version));
    const applied: number[] = [];
    for (const { version, sql } of MIGRATIONS) {
      if (done.has(version)) continue;
      await tx.exec(sql);
      await tx.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
      applied.push(version);
    }
    return applied;
  });
}
