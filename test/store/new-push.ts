import { randomUUID } from 'node:crypto';
import type { NewPush } from '../../src/domain/index.ts';

/** A level-3 push to main of a random revision, received at `receivedAt`: what the store contracts queue. */
export function newPush(repository: string, receivedAt: string, overrides: Partial<NewPush> = {}): NewPush {
  return {
    id: randomUUID(),
    source: 'github',
    repository,
    ref: 'refs/heads/main',
    rev: randomUUID().replaceAll('-', '').padEnd(40, '0'),
    level: 3,
    pullRequest: false,
    owner: null,
    force: null,
    receivedAt,
    ...overrides,
  };
}
