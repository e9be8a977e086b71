import type { Logger } from 'pino';
import type { Config, RepositoryConfig } from '../config/load.ts';
import type { Level } from '../domain/index.ts';
import { fillPattern } from '../decision/settings.ts';
import { isDeciderError } from '../errors.ts';
import { missingFrom, requiredScopes } from '../taskcluster/scopes.ts';
import type { Taskcluster } from '../taskcluster/types.ts';

export interface ScopeReport {
  /** `pending` until the auth service answered; `unknown` when it could not be asked. */
  readonly status: 'pending' | 'ok' | 'missing' | 'unknown';
  readonly missing: readonly string[];
  readonly detail: string;
  readonly checkedAt: string | null;
}

function levelsOf(repo: RepositoryConfig): Level[] {
  const levels = new Set<Level>(repo.levels.map(([, level]) => level));
  if (repo.defaultLevel !== null) levels.add(repo.defaultLevel);
  if (repo.pullRequests) levels.add(1);
  return [...levels].sort();
}

/** What the configured repositories need; a repository whose trust domain is not configured is noted instead. */
export function neededScopes(config: Config): { scopes: string[]; notes: string[] } {
  const scopes = new Set<string>();
  const notes: string[] = [];
  for (const repo of config.repositories) {
    const domain = repo.trustDomain;
    if (!domain) notes.push(`${repo.name}: set trustDomain to check its index, queue and route scopes`);
    const fill = (pattern: string) => (level: Level) => (domain || !pattern.includes('{trustDomain}') ? fillPattern(pattern, domain ?? '', level) : null);
    for (const scope of requiredScopes({
      prefix: repo.cachePrefix ?? domain,
      scheme: repo.hashAlgorithm === 'seed-v1' ? 'seed-v1' : 'taskgraph',
      project: repo.project,
      levels: levelsOf(repo),
      pullRequests: repo.pullRequests,
      taskQueueId: fill(repo.taskQueueId),
      schedulerId: fill(repo.schedulerId),
      priority: repo.priority,
    }))
      scopes.add(scope);
  }
  return { scopes: [...scopes], notes };
}

/**
 * The start-up check of the client's scopes (auth `currentScopes`) against what the
 * configured repositories need; its report is shown on /health. Deciding goes on either way:
 * a push refused for scopes waits, retried, until they are granted.
 */
export class ScopeCheck {
  report: ScopeReport;

  constructor(
    private readonly tc: Taskcluster | null,
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    this.report = tc
      ? { status: 'pending', missing: [], detail: 'checking the client’s scopes', checkedAt: null }
      : { status: 'ok', missing: [], detail: 'dry run: no Taskcluster calls', checkedAt: null };
  }

  async run(): Promise<ScopeReport> {
    if (!this.tc) return this.report;
    const { scopes, notes } = neededScopes(this.config);
    const who = this.tc.signed ? 'the client' : 'anonymous requests (no TASKCLUSTER_CLIENT_ID/ACCESS_TOKEN)';
    const checkedAt = new Date().toISOString();
    try {
      const missing = missingFrom(await this.tc.currentScopes(), scopes);
      const note = notes.length ? `; ${notes.join('; ')}` : '';
      this.report = missing.length
        ? { status: 'missing', missing, detail: `${who} lack${this.tc.signed ? 's' : ''} ${missing.join(', ')}${note}`, checkedAt }
        : { status: 'ok', missing, detail: `${who}: every needed scope held${note}`, checkedAt };
    } catch (err) {
      this.report = await this.unknown(scopes, `could not read the client’s scopes (auth currentScopes: ${(err as Error).message})`, checkedAt);
    }
    if (this.report.status === 'missing') this.log.warn({ missing: this.report.missing }, `Taskcluster scopes missing: ${this.report.detail}`);
    else if (this.report.status === 'unknown') this.log.warn({ needed: scopes, missing: this.report.missing }, `Taskcluster scopes unknown: ${this.report.detail}`);
    else this.log.info({ scopes: this.report.status }, `Taskcluster scopes: ${this.report.detail}`);
    return this.report;
  }

  /**
   * The client's scopes could not be read: not known to be fine. The Index's lookups are
   * harmless to try, and its 403s say which `index:find-task` scopes are missing; the rest are
   * listed as needed.
   */
  private async unknown(needed: readonly string[], why: string, checkedAt: string): Promise<ScopeReport> {
    const tc = this.tc!;
    const lookups = needed.filter((s) => s.startsWith('index:find-task:') && s.endsWith('.*'));
    const refused = await Promise.all(
      lookups.map((scope) =>
        tc.index.findTask(`${scope.slice('index:find-task:'.length, -1)}image-decider-scope-probe`).then(
          () => null,
          (err: unknown) => (isDeciderError(err) && err.code === 'insufficient-scopes' ? scope : null),
        ),
      ),
    );
    const missing = refused.filter((s): s is string => s !== null);
    const found = missing.length ? `; the Index refused lookups needing ${missing.join(', ')}` : '';
    return { status: 'unknown', missing, detail: `${why}${found}; the configuration needs ${needed.join(', ')}`, checkedAt };
  }
}
