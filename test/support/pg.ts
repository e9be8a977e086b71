import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import pg from 'pg';

/** The local PostgreSQL (CI has one too) as `postgres`, else as the OS user; PG_ADMIN_URL overrides. */
const CANDIDATES = process.env.PG_ADMIN_URL
  ? [process.env.PG_ADMIN_URL]
  : ['postgres://postgres@127.0.0.1:5432/postgres', `postgres://${encodeURIComponent(userInfo().username)}@127.0.0.1:5432/postgres`];

let adminUrl: Promise<string> | null = null;

// Fails rather than skips: a missing PostgreSQL must not pass for a green run.
async function findAdminUrl(): Promise<string> {
  const failures: string[] = [];
  for (const url of new Set(CANDIDATES)) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      return url;
    } catch (err) {
      failures.push(`${url}: ${(err as Error).message}`);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  throw new Error(`PostgreSQL is needed for these tests (set PG_ADMIN_URL to a superuser URL). Tried ${failures.join('; ')}`);
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: await (adminUrl ??= findAdminUrl()) });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const created: string[] = [];

/** A new, empty database for one test file; dropped when the test process ends. */
export async function freshDatabase(): Promise<string> {
  const name = `image_decider_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  created.push(name);
  const url = new URL(await adminUrl!);
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
