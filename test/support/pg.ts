import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The local PostgreSQL (CI has one too); PG_ADMIN_URL overrides. */
export const ADMIN_URL = process.env.PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const created: string[] = [];

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`PostgreSQL is needed at ${ADMIN_URL} (set PG_ADMIN_URL): ${(err as Error).message}`);
  }
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A new, empty database for one test file; dropped when the test process ends. */
export async function freshDatabase(): Promise<string> {
  const name = `image_decider_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  created.push(name);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

// Dropped when the test process has nothing left to do (a killed run leaves its databases behind).
process.once('beforeExit', () => {
  const names = created.splice(0);
  if (names.length === 0) return;
  void admin(async (c) => {
    for (const name of names) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
  });
});
