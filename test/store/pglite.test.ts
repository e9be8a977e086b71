import { after } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { storeOnPglite } from '../../src/store/open-store.ts';
import type { ServiceStore } from '../../src/store/service-store.ts';
import { storeContract } from './contract.ts';
import { pushStoreContract } from './push-contract.ts';

// One embedded database for the file: creating one takes seconds here.
let shared: Promise<{ db: PGlite; store: ServiceStore }> | null = null;
after(async () => {
  const opened = await shared;
  await opened?.db.close();
});

async function open(): Promise<ServiceStore> {
  shared ??= PGlite.create().then(async (db) => ({ db, store: await storeOnPglite(db) }));
  return (await shared).store;
}

storeContract('PGlite', open);
pushStoreContract('PGlite', open);
