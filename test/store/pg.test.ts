import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { openStore } from '../../src/store/open-store.ts';
import type { ServiceStore } from '../../src/store/service-store.ts';
import { pgClient } from '../../src/store/sql/client.ts';
import { MIGRATIONS, migrate } from '../../src/store/sql/migrations.ts';
import { freshDatabase } from '../support/pg.ts';
import type { ChangeLimits } from '../../src/store/change-limits.ts';
import { changeStoreContract } from './change-contract.ts';
import { planned, storeContract, uniqueDigest } from './contract.ts';
import { historyStoreContract } from './history-contract.ts';
import { pushStoreContract } from './push-contract.ts';
import { refreshStoreContract } from './refresh-contract.ts';

const stores: ServiceStore[] = [];
let url: Promise<string> | null = null;
after(() => Promise.all(stores.splice(0).map((s) => s.close())));

/** One database for the file; each test opens its own pool on it, as separate processes would. */
async function open(changeLimits?: ChangeLimits): Promise<ServiceStore> {
  url ??= freshDatabase();
  const store = await openStore({ databaseUrl: await url, dataDir: '/nonexistent', ...(changeLimits ? { changeLimits } : {}) });
  stores.push(store);
  return store;
}

storeContract('PostgreSQL', open);
pushStoreContract('PostgreSQL', open);
historyStoreContract('PostgreSQL', open);
refreshStoreContract('PostgreSQL', open);
changeStoreContract('PostgreSQL', open);

describe('PostgreSQL across processes', () => {
  it('of concurrent plans for one build from two pools, exactly one is stored', async () => {
    const [a, b] = [await open(), await open()];
    const digest = uniqueDigest();
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).planTask(planned({ digest }), { reuse: true })));
    const winners = results.filter((r) => r.planned);
    assert.equal(winners.length, 1);
    const winner = winners[0]!.planned ? winners[0]!.task.taskId : '';
    assert.ok(results.every((r) => r.planned || r.existing.taskId === winner));
    assert.equal((await b.findActiveBuild({ digest, level: 3, pullRequest: false }))?.taskId, winner);
  });
});

describe('migrations', () => {
  it('run once even when several processes start together on a new database, and not again later', async () => {
    const databaseUrl = await freshDatabase();
    const opened = await Promise.all([1, 2, 3].map(() => openStore({ databaseUrl, dataDir: '/nonexistent' })));
    stores.push(...opened);
    const client = pgClient(new pg.Pool({ connectionString: databaseUrl, max: 1 }));
    try {
      assert.deepEqual(await migrate(client), [], 'nothing left to apply');
      const rows = await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(
        rows.map((r) => r.version),
        MIGRATIONS.map((m) => m.version),
      );
    } finally {
      await client.close();
    }
  });

  it('leave a manifest stored before manifests had parts readable', async () => {
    const databaseUrl = await freshDatabase();
    const client = pgClient(new pg.Pool({ connectionString: databaseUrl, max: 1 }));
    try {
      // A database as migration 3 left it, holding a manifest of that time.
      await client.transaction(async (tx) => {
        await tx.query('CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
        for (const m of MIGRATIONS.filter((m) => m.version <= 3)) {
          await tx.exec(m.sql);
          await tx.query('INSERT INTO schema_migrations (version) VALUES ($1)', [m.version]);
        }
      });
      const head = JSON.stringify({ a: 'taskgraph', f: 1, t: false, e: [['topsrcdir/lib/a.py', 0o644, 'c'.repeat(40), 4, 'lib']] });
      await client.query('INSERT INTO manifests (context_hash, manifest, bytes, recorded_at) VALUES ($1, $2, $3, now())', ['old', head, head.length]);
      const store = await openStore({ databaseUrl, dataDir: '/nonexistent' });
      stores.push(store);
      assert.deepEqual((await store.getManifests(['old'])).get('old'), {
        algorithm: 'taskgraph',
        files: 1,
        truncated: false,
        entries: [{ path: 'topsrcdir/lib/a.py', mode: 0o644, id: 'c'.repeat(40), size: 4, include: 'lib' }],
      });
    } finally {
      await client.close();
    }
  });
});
