import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { ChangeLimits } from './change-limits.ts';
import { lockDataFolder } from './data-lock.ts';
import type { ServiceStore } from './service-store.ts';
import { type SqlClient, pgClient, pgliteClient } from './sql/client.ts';
import { migrate } from './sql/migrations.ts';
import { SqlStore } from './sql/sql-store.ts';

export interface StoreOptions {
  /** PostgreSQL; without it, the embedded PGlite under `<dataDir>/pglite`. */
  readonly databaseUrl?: string | null;
  readonly dataDir: string;
  /** Decision records larger than this, as JSON, are refused (`limit-exceeded`); default 64 MiB. */
  readonly maxDecisionBytes?: number;
  /** What the change store keeps (default DEFAULT_CHANGE_LIMITS). */
  readonly changeLimits?: ChangeLimits;
}

async function migrated(client: SqlClient, maxDecisionBytes?: number, changeLimits?: ChangeLimits): Promise<SqlStore> {
  try {
    await migrate(client);
  } catch (err) {
    await client.close();
    throw err;
  }
  return new SqlStore(client, maxDecisionBytes, changeLimits);
}

/** The service's store, migrated to the current schema. */
export async function openStore(options: StoreOptions): Promise<ServiceStore> {
  if (options.databaseUrl) {
    // A server that does not answer (a host rebooting, a partition) fails a request waiting for
    // a connection after 10 s, and a statement sent on an open connection after 15 s, as
    // `unavailable`, rather than holding it until TCP gives up (many minutes). Our statements
    // are small; a slow one is a stuck one.
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 10, connectionTimeoutMillis: 10_000, query_timeout: 15_000, keepAlive: true });
    // An idle client losing its server (a restart) must not crash the process; the pool replaces it.
    pool.on('error', () => undefined);
    return migrated(pgClient(pool), options.maxDecisionBytes, options.changeLimits);
  }
  const dir = join(options.dataDir, 'pglite');
  await mkdir(dir, { recursive: true });
  const lock = await lockDataFolder(options.dataDir);
  try {
    return await openEmbedded(dir, options, () => lock.release());
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/** The embedded store; `release` (the data folder's lock) runs once the database is closed. */
async function openEmbedded(dir: string, options: StoreOptions, release: () => Promise<void>): Promise<SqlStore> {
  // Creating a database runs initdb inside the WebAssembly heap, which never shrinks: the
  // process that did it keeps hundreds of MB it no longer needs. A short-lived child does it.
  if (!existsSync(join(dir, 'PG_VERSION'))) await createEmbeddedDatabase(dir);
  // Loaded only when used: importing PGlite costs a process on PostgreSQL about 46 MB.
  const { PGlite: Embedded } = await import('@electric-sql/pglite');
  const client = pgliteClient(await Embedded.create(dir, { startParams: embeddedStartParams(Embedded.defaultStartParams) }), { owned: true });
  const closing: SqlClient = {
    ...client,
    close: async () => {
      await client.close();
      await release();
    },
  };
  return migrated(closing, options.maxDecisionBytes, options.changeLimits);
}

/**
 * PGlite's defaults plus small buffers: the store's working set is a few MB of rows, and
 * PostgreSQL's 128 MB of shared buffers, once touched, stay resident in the heap for good
 * (bench/README.md, memory).
 */
function embeddedStartParams(defaults: readonly string[]): string[] {
  return [...defaults, '-c', 'shared_buffers=8MB', '-c', 'wal_buffers=1MB'];
}

const CREATE_DATABASE = `
const [pglite, dir, params] = process.argv.slice(1);
const { PGlite } = await import(pglite);
const db = await PGlite.create(dir, { startParams: JSON.parse(params) });
await db.close();
`;

async function createEmbeddedDatabase(dir: string): Promise<void> {
  const { PGlite: Embedded } = await import('@electric-sql/pglite');
  const params = JSON.stringify(embeddedStartParams(Embedded.defaultStartParams));
  await promisify(execFile)(process.execPath, ['--input-type=module', '-e', CREATE_DATABASE, import.meta.resolve('@electric-sql/pglite'), dir, params], { timeout: 120_000 });
}

/** A store on a PGlite instance the caller owns (tests share one: opening one takes seconds). */
export function storeOnPglite(db: PGlite, changeLimits?: ChangeLimits): Promise<ServiceStore> {
  return migrated(pgliteClient(db, { owned: false }), undefined, changeLimits);
}
