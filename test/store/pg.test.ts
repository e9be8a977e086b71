import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { ContextManifest } from '../../src/context/manifest.ts';
import { encodeManifest } from '../../src/context/manifest-encoding.ts';
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

  it('graphs of one revision recording the same manifests at once, from two pools, all succeed and store each once', async () => {
    const [a, b] = [await open(), await open()];
    const run = randomUUID();
    // 24 contexts sharing six included folders, two each, the way real images do.
    const folder = (f: number) =>
      Array.from({ length: 30 }, (_, i) => ({ path: `topsrcdir/f${f}/m${String(i).padStart(2, '0')}`, mode: 0o644, id: `${f}`.repeat(40), size: i, include: `f${f}` }));
    const manifest = (n: number): ContextManifest => {
      const entries = [
        { path: 'Dockerfile', mode: 0o644, id: `sha256:${run.replace(/-/g, '').slice(0, 32)}${String(n).padStart(32, '0')}`, size: n },
        ...folder(n % 6),
        ...folder((n + 1) % 6),
      ];
      entries.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
      return { algorithm: 'taskgraph', files: entries.length, truncated: false, entries };
    };
    const list = Array.from({ length: 24 }, (_, n) => ({ contextHash: `${run}-${n}`, manifest: encodeManifest(manifest(n)) }));
    // Each caller in its own order, as concurrent graphs finish their contexts in any order.
    const shuffled = (k: number) =>
      [...list].sort((x, y) => ((x.contextHash.length * 7 + list.indexOf(x) * (k + 3)) % 24) - ((y.contextHash.length * 7 + list.indexOf(y) * (k + 3)) % 24));
    await Promise.all(Array.from({ length: 12 }, (_, k) => (k % 2 ? a : b).recordManifests(shuffled(k), new Date())));
    const got = await a.getManifests(list.map((m) => m.contextHash));
    assert.equal(got.size, 24);
    for (let n = 0; n < 24; n++) assert.deepEqual(got.get(`${run}-${n}`), manifest(n));
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
