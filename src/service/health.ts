import { DeciderError } from '../errors.ts';
import type { UpstreamState } from './breaker.ts';
import type { ExpiringImage } from './refresh.ts';
import { expiringImages } from './refresh-health.ts';
import type { Service } from './service.ts';

export type CheckStatus = 'ok' | 'degraded' | 'down';

export interface Check {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
}

/** A repository's upstream: unreachable after repeated fetch failures, its pushes waiting meanwhile. */
export interface RepositoryHealth extends UpstreamState {
  readonly lastFetchAt: string | null;
}

export interface Health {
  readonly status: CheckStatus;
  readonly checks: readonly Check[];
  readonly repositories: readonly RepositoryHealth[];
  readonly backlog: { readonly queued: number; readonly deciding: number; readonly oldestQueuedSeconds: number | null };
  readonly lastError: { readonly at: string; readonly message: string } | null;
  readonly dryRun: boolean;
  readonly uptimeSeconds: number;
  /** Level-3 images whose task or artifact expires within `refresh.windowDays`, and their refresh. */
  readonly expiring: readonly ExpiringImage[];
  readonly refresh: {
    readonly windowDays: number;
    readonly intervalMinutes: number;
    readonly lastRunAt: string | null;
    readonly lastError: { readonly at: string; readonly message: string } | null;
  };
}

/** A queued push older than this means the workers are not keeping up. */
const BACKLOG_AGE_DEGRADED_S = 300;

/**
 * A decision running longer than this is hung: a live worker renews its claim, so only a
 * decision stuck inside the process (not a dead one) lasts this long. Its slowest part is
 * the fetch, bounded by `fetchTimeoutSeconds`; three of them, and never under ten minutes.
 */
export function decidingTooLongMs(fetchTimeoutSeconds: number): number {
  return Math.max(10 * 60_000, 3 * fetchTimeoutSeconds * 1000);
}

async function timed<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new DeciderError('unavailable', `no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Each dependency's state; `down` only when the store cannot answer (nothing can be accepted). */
export async function checkHealth(service: Service): Promise<Health> {
  const checks: Check[] = [];
  let backlog: Health['backlog'] = { queued: 0, deciding: 0, oldestQueuedSeconds: null };
  try {
    await timed(service.store.ping(), 2000);
    const b = await timed(service.store.backlog(), 2000);
    const age = b.oldestQueuedAt ? (Date.now() - Date.parse(b.oldestQueuedAt)) / 1000 : null;
    backlog = { queued: b.queued, deciding: b.deciding, oldestQueuedSeconds: age };
    const boundMs = decidingTooLongMs(service.config.fetchTimeoutSeconds);
    const stuck = await timed(service.store.stuckPushes(new Date(Date.now() - boundMs), service.config.maxAttempts), 2000);
    checks.push({ name: 'store', status: 'ok', detail: service.config.databaseUrl ? 'PostgreSQL' : 'embedded PostgreSQL (PGlite)' });
    const stuckDetail = stuck.map((p) =>
      p.attempts > service.config.maxAttempts
        ? `${p.id} (${p.repository}) deciding at attempt ${p.attempts} of ${service.config.maxAttempts}`
        : `${p.id} (${p.repository}) deciding since ${p.claimedAt}, over ${Math.round(boundMs / 1000)} s`,
    );
    checks.push({
      name: 'backlog',
      status: (age !== null && age > BACKLOG_AGE_DEGRADED_S) || stuck.length > 0 ? 'degraded' : 'ok',
      detail:
        `${b.queued} queued, ${b.deciding} deciding${age !== null ? `, oldest waiting ${Math.round(age)} s` : ''}` +
        (stuck.length > 0 ? `; not progressing: ${stuckDetail.join(', ')}` : ''),
    });
  } catch (err) {
    checks.push({ name: 'store', status: 'down', detail: (err as Error).message });
  }
  if (!service.taskcluster) checks.push({ name: 'taskcluster', status: 'ok', detail: 'dry run: no TASKCLUSTER_ROOT_URL' });
  else {
    const detail = service.taskcluster.rootUrl;
    const reachable = await timed(service.taskcluster.ping(), 5000).then(
      () => null,
      (err: Error) => err.message,
    );
    checks.push({ name: 'taskcluster', status: reachable ? 'degraded' : 'ok', detail: reachable ? `${detail}: ${reachable}` : detail });
  }
  const scopes = service.scopes.report;
  const refused = service.worker.scopeProblem;
  if (service.taskcluster) {
    // Scopes that could not be read are not known to be held: degraded until they are.
    const problem = scopes.status === 'missing' || scopes.status === 'unknown' || refused !== null;
    const detail = [
      scopes.status === 'ok' && refused ? null : scopes.status === 'unknown' ? `unknown: ${scopes.detail}` : scopes.detail,
      refused ? `configuration problem: ${refused.message} (at ${refused.at})` : null,
    ]
      .filter(Boolean)
      .join('; ');
    checks.push({ name: 'taskcluster-scopes', status: problem ? 'degraded' : 'ok', detail });
  }
  const repositories: RepositoryHealth[] = [];
  for (const repo of service.repos.values()) {
    const upstream = repo.breaker.state();
    const { lastFetchError, lastFetchAt } = repo.mirror;
    repositories.push({ ...upstream, lastFetchAt: lastFetchAt?.toISOString() ?? null });
    const detail = !upstream.reachable
      ? `unreachable since ${upstream.since} (${upstream.failures} fetches failed in a row; its pushes wait): ${upstream.lastError}`
      : (lastFetchError ?? (lastFetchAt ? `last fetched ${lastFetchAt.toISOString()}` : 'not fetched yet'));
    checks.push({ name: `mirror:${repo.config.name}`, status: !upstream.reachable || lastFetchError ? 'degraded' : 'ok', detail });
  }
  const { refresher } = service;
  if (refresher.lastError) {
    // Images may expire under their users meanwhile.
    checks.push({ name: 'refresh', status: 'degraded', detail: `looking for images close to expiry failed at ${refresher.lastError.at}: ${refresher.lastError.message}` });
  }
  const status: CheckStatus = checks.some((c) => c.status === 'down') ? 'down' : checks.some((c) => c.status === 'degraded') ? 'degraded' : 'ok';
  return {
    status,
    checks,
    repositories,
    backlog,
    lastError: service.worker.lastError,
    dryRun: service.taskcluster === null,
    uptimeSeconds: Math.round((Date.now() - service.startedAt.getTime()) / 1000),
    // The recorded refreshes only while the store answers; else what the last pass found.
    expiring: checks.some((c) => c.name === 'store' && c.status === 'ok') ? await expiringImages(service) : [...refresher.expiring],
    refresh: { ...service.config.refresh, lastRunAt: refresher.lastRunAt, lastError: refresher.lastError },
  };
}
