import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { openStore } from '../../src/store/open-store.ts';
import type { ServiceStore } from '../../src/store/service-store.ts';
import { MIGRATIONS } from '../../src/store/sql/migrations.ts';
import { freshDatabase } from '../support/pg.ts';
import { storeContract } from './contract.ts';
import { pushStoreContract } from './push-contract.ts';

const stores: ServiceStore[] = [];
let url: Promise<string> | null = null;
after(() => Promise.all(stores.splice(0).map((s) => s.close())));

/** One database for the file; each test opens its own pool on it, as separate processes would. */
async function open(): Promise<ServiceStore> {
  url ??= freshDatabase();
  const store = await openStore({ databaseUrl: await url, dataDir: '/nonexistent' });
  stores.push(store);
  return store;
}

storeContract('PostgreSQL', open);
pushStoreContract('PostgreSQL', open);

describe('migrations', () => {
  it('run once even when several processes start together on a new database', async () => {
    const databaseUrl = await freshDatabase();
    const opened = await Promise.all([1, 2, 3].map(() => openStore({ databaseUrl, dataDir: '/nonexistent' })));
    stores.push(...opened);
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(rows.map((r: { version: number }) => r.version), MIGRATIONS.map((m) => m.version));
    } finally {
      await client.end();
    }
  });
});
