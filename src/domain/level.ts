import { DeciderError } from '../errors.ts';

/** A push's trust level (taskgraph's `level`): 3 for release branches, 1 for pull requests and forks. */
export type Level = 1 | 2 | 3;

export const LEVELS: readonly Level[] = [1, 2, 3];

export function isLevel(value: unknown): value is Level {
  return value === 1 || value === 2 || value === 3;
}

/** The one way a level comes in from outside (config, query strings, the CLI, stored rows). */
export function parseLevel(value: unknown, what = 'level'): Level {
  const level = typeof value === 'string' && /^[123]$/.test(value.trim()) ? Number(value) : value;
  if (!isLevel(level)) throw new DeciderError('bad-argument', `${what} must be 1, 2 or 3, not ${JSON.stringify(value)}`);
  return level;
}
