import { after } from 'node:test';
import { ContextHasher, type HasherOptions } from '../../src/context/hasher.ts';
import { HashPool } from '../../src/context/hash-thread.ts';

let pool: HashPool | null = null;
const made: ContextHasher[] = [];
// Registered at load, on the file's root test: runs once every test of the file is done.
after(async () => {
  await Promise.all(made.splice(0).map((hasher) => hasher.close()));
  await pool?.close();
  pool = null;
});

/** A hasher on the test file's hashing pool; both are closed when the file's tests are done. */
export function testHasher(options: Omit<HasherOptions, 'pool'> = {}): ContextHasher {
  pool ??= new HashPool();
  const hasher = new ContextHasher({ ...options, pool });
  made.push(hasher);
  return hasher;
}
