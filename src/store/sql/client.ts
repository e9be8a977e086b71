import type { PGlite, Transaction } from '@electric-sql/pglite';
import type pg from 'pg';
import { DeciderError, isDeciderError } from '../../errors.ts';

export type Row = Record<string, unknown>;

/** The little the store needs of a database; one implementation per driver, the same SQL. */
export interface SqlClient {
  query<R extends Row = Row>(text: string, params?: readonly unknown[]): Promise<R[]>;
  /** Several statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Runs `fn` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** SQLSTATEs of a server going away or not back yet: connection exceptions, shutdown, crash, starting up, full. */
const UNAVAILABLE_STATE = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** node-postgres's own words for a connection it lost or could not make. */
const LOST = /Connection terminated|not queryable|timeout exceeded when trying to connect|Query read timeout/;

/**
 * The database cannot be reached (restarting, refusing, connection lost): `unavailable`,
 * worth retrying, and answered 503.
 */
function storeUnavailable(cause: Error & { code?: unknown; severity?: unknown }): DeciderError {
  // The server's own words, or the system error code: never an address or a URL.
  const reason = cause.severity ? `${String(cause.code)} ${cause.message}` : typeof cause.code === 'string' ? cause.code : cause.message;
  return new DeciderError('unavailable', `the store (PostgreSQL) is unavailable: ${reason}`, { cause });
}

/** Whether a store call failed for an outage (the only `unavailable` a store raises). */
export function isStoreUnavailable(err: unknown): boolean {
  return isDeciderError(err) && err.code === 'unavailable';
}

function lostConnection(err: unknown): err is Error {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || UNAVAILABLE_STATE.test(code))) return true;
  return LOST.test(err.message);
}

async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw lostConnection(err) ? storeUnavailable(err) : err;
  }
}

export function pgClient(pool: pg.Pool): SqlClient {
  const over =
    (runner: pg.Pool | pg.PoolClient): SqlClient['query'] =>
    (text, params) =>
      guarded(async () => (await runner.query(text, params as unknown[])).rows);
  const exec = (runner: pg.Pool | pg.PoolClient) => (sql: string) =>
    guarded(async () => {
      await runner.query(sql);
    });
  return {
    query: over(pool),
    exec: exec(pool),
    async transaction(fn) {
      const connection = await guarded(() => pool.connect());
      // A checked-out client has no pool listener: its connection dying (a database restart)
      // would be an unhandled 'error' event, which ends the process.
      let lost = false;
      const onError = () => (lost = true);
      connection.on('error', onError);
      let failure: unknown = null;
      try {
        await guarded(() => connection.query('BEGIN'));
        const tx: SqlClient = { query: over(connection), exec: exec(connection), transaction: (inner) => inner(tx), close: async () => undefined };
        const result = await fn(tx);
        await guarded(() => connection.query('COMMIT'));
        return result;
      } catch (err) {
        failure = err;
        if (!lost && !isStoreUnavailable(err)) await connection.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        connection.off('error', onError);
        // A broken connection is closed, not handed to the next caller.
        connection.release(lost || isStoreUnavailable(failure));
      }
    },
    close: () => pool.end(),
  };
}

export function pgliteClient(db: PGlite, options: { owned: boolean }): SqlClient {
  const over =
    (runner: PGlite | Transaction): SqlClient['query'] =>
    async (text, params) =>
      (await runner.query(text, params as unknown[])).rows as never[];
  const exec = (runner: PGlite | Transaction) => async (sql: string) => {
    await runner.exec(sql);
  };
  return {
    query: over(db),
    exec: exec(db),
    transaction: (fn) =>
      db.transaction(async (t) => {
        const tx: SqlClient = { query: over(t), exec: exec(t), transaction: (inner) => inner(tx), close: async () => undefined };
        return fn(tx);
      }),
    close: async () => {
      if (options.owned) await db.close();
    },
  };
}
