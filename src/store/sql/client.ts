import type { PGlite, Transaction } from '@electric-sql/pglite';
import type pg from 'pg';

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

export function pgClient(pool: pg.Pool): SqlClient {
  const over = (runner: pg.Pool | pg.PoolClient): SqlClient['query'] => async (text, params) =>
    (await runner.query(text, params as unknown[])).rows;
  const exec = (runner: pg.Pool | pg.PoolClient) => async (sql: string) => {
    await runner.query(sql);
  };
  return {
    query: over(pool),
    exec: exec(pool),
    async transaction(fn) {
      const connection = await pool.connect();
      try {
        await connection.query('BEGIN');
        const tx: SqlClient = { query: over(connection), exec: exec(connection), transaction: (inner) => inner(tx), close: async () => undefined };
        const result = await fn(tx);
        await connection.query('COMMIT');
        return result;
      } catch (err) {
        await connection.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        connection.release();
      }
    },
    close: () => pool.end(),
  };
}

export function pgliteClient(db: PGlite, options: { owned: boolean }): SqlClient {
  const over = (runner: PGlite | Transaction): SqlClient['query'] => async (text, params) =>
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
