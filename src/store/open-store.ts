import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { ServiceStore } from './service-store.ts';
import { type SqlClient, pgClient, pgliteClient } from './sql/client.ts';
import { migrate } from './sql/migrations.ts';
import { SqlStore } from './sql/sql-store.ts';

export interface StoreOptions {
  /** PostgreSQL; without it, the embedded PGlite under `<dataDir>/pglite`. */
  readonly databaseUrl?: string | null;
  readonly dataDir: string;
}

async function migrated(client: SqlClient): Promise<SqlStore> {
  try {
    await migrate(client);
  } catch (err) {
    await client.close();
    throw err;
  }
  return new SqlStore(client);
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
    return migrated(pgClient(pool));
  }
  const dir = join(options.dataDir, 'pglite');
  await mkdir(dir, { recursive: true });
  // Loaded only when used: importing PGlite costs a process on PostgreSQL about 46 MB.
  const { PGlite: Embedded } = await import('@electric-sql/pglite');
  return migrated(pgliteClient(await Embedded.create(dir), { owned: true }));
}

/** A store on a PGlite instance the caller owns (tests share one: opening one takes seconds). */
export function storeOnPglite(db: PGlite): Promise<ServiceStore> {
  return migrated(pgliteClient(db, { owned: false }));
}
