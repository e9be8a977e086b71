import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cp, mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { IntakeResult } from '../domain/index.ts';
import type { Service } from './service.ts';

const execFileAsync = promisify(execFile);

export const EXAMPLE_SOURCE = resolve(import.meta.dirname, '../../examples/acme');

const GIT_IDENTITY = {
  GIT_AUTHOR_NAME: 'image-decider example',
  GIT_AUTHOR_EMAIL: 'example@example.com',
  GIT_COMMITTER_NAME: 'image-decider example',
  GIT_COMMITTER_EMAIL: 'example@example.com',
};

/** The bundled example made a git repository under the data folder, once; its path. */
export async function prepareExample(dataDir: string): Promise<string> {
  const dest = join(dataDir, 'examples', 'acme');
  if (await stat(join(dest, '.git')).catch(() => null)) return dest;
  await mkdir(dest, { recursive: true });
  await cp(EXAMPLE_SOURCE, dest, { recursive: true, verbatimSymlinks: true });
  const git = (...args: string[]) => execFileAsync('git', ['-C', dest, ...args], { env: { ...process.env, ...GIT_IDENTITY } });
  await git('init', '--quiet', '--initial-branch=main');
  await git('add', '--all');
  await git('commit', '--quiet', '--no-gpg-sign', '--message', 'The acme example repository');
  return dest;
}

/**
 * The first start of the example decides its head once, so the dashboard has a push to show.
 * Keyed by the head's sha as a delivery: a restart (or a second start) queues nothing more.
 */
export async function queueExampleHead(service: Pick<Service, 'store' | 'repos' | 'worker'>, repository: string): Promise<IntakeResult | null> {
  const repo = service.repos.get(repository);
  if (!repo) return null;
  if ((await service.store.listPushes({ repository, limit: 1 })).length > 0) return null;
  const rev = (await execFileAsync('git', ['-C', repo.config.url, 'rev-parse', 'HEAD'])).stdout.trim();
  const ref = 'refs/heads/main';
  const receivedAt = new Date().toISOString();
  const push = { id: randomUUID(), source: 'generic' as const, repository, ref, rev, level: repo.levelFor(ref) ?? 1, pullRequest: false, owner: null, force: null, receivedAt };
  const result = await service.store.recordDelivery({ source: 'generic', deliveryId: `example-head:${rev}`, event: 'push', receivedAt, ignoredReason: null }, push);
  if (result.outcome === 'queued') service.worker.wake();
  return result;
}
