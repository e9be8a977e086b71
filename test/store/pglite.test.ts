import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { openStore, storeOnPglite } from '../../src/store/open-store.ts';
import type { ServiceStore } from '../../src/store/service-store.ts';
import { pgliteClient } from '../../src/store/sql/client.ts';
import { MIGRATIONS, migrate } from '../../src/store/sql/migrations.ts';
import { tempDir } from '../support/temp.ts';
import { changeStoreContract } from './change-contract.ts';
import { planned, storeContract, uniqueDigest } from './contract.ts';
import { historyStoreContract } from './history-contract.ts';
import { pushStoreContract } from './push-contract.ts';
import { refreshStoreContract } from './refresh-contract.ts';

// One embedded database for the file, in a data folder as the service opens it: a new one takes
// about 3 s here (in memory about 2.7 s), reopening one about 0.3 s.
const dataDir = tempDir('pglite-');
let shared: Promise<ServiceStore> | null = null;
after(async () => (await shared)?.close());

function open(): Promise<ServiceStore> {
  shared ??= dataDir.then((dir) => openStore({ dataDir: dir }));
  return shared;
}

storeContract('PGlite', open);
pushStoreContract('PGlite', open);
historyStoreContract('PGlite', open);
refreshStoreContract('PGlite', open);

// Stores with bounds of their own, on one more embedded database (in memory), each migrated as the service does.
let boundedDb: Promise<PGlite> | null = null;
after(async () => (await boundedDb)?.close());
changeStoreContract('PGlite', async (limits) => storeOnPglite(await (boundedDb ??= PGlite.create()), limits));

// Declared last, so it runs after the contracts: it closes the shared store.
describe('PGlite data folder', () => {
  it('keeps its data when reopened, and applies no migration twice', async () => {
    const store = await open();
    const task = planned({ digest: uniqueDigest() });
    await store.planTask(task, { reuse: true });
    await store.close();
    const dir = join(await dataDir, 'pglite');
    assert.ok(existsSync(dir));
    const db = await PGlite.create(dir);
    try {
      const client = pgliteClient(db, { owned: false });
      assert.deepEqual(await migrate(client), []);
      const rows = await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(
        rows.map((r) => r.version),
        MIGRATIONS.map((m) => m.version),
      );
      assert.deepEqual(await (await storeOnPglite(db)).getTask(task.taskId), task);
    } finally {
      await db.close();
    }
  });
});
