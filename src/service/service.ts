import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Config } from '../config/load.ts';
import { BlobSpool } from '../context/blob-spool.ts';
import { HashPool } from '../context/hash-thread.ts';
import { openStore } from '../store/open-store.ts';
import type { ServiceStore } from '../store/service-store.ts';
import { createTaskcluster } from '../taskcluster/client.ts';
import { instrumentTaskcluster } from '../taskcluster/instrumented.ts';
import type { Taskcluster } from '../taskcluster/types.ts';
import { ContextCache } from './context-cache.ts';
import { Metrics } from './metrics.ts';
import { Refresher } from './refresh.ts';
import { type RepositoryRuntime, openRepositories } from './repositories.ts';
import { ScopeCheck } from './scope-check.ts';
import { Worker } from './worker.ts';

/** Everything the HTTP app and the worker share; `buildApp` takes it. */
export interface Service {
  readonly config: Config;
  readonly store: ServiceStore;
  readonly taskcluster: Taskcluster | null;
  readonly repos: ReadonlyMap<string, RepositoryRuntime>;
  readonly metrics: Metrics;
  readonly contexts: ContextCache;
  readonly worker: Worker;
  /** The client's scopes against what the repositories need, checked at start. */
  readonly scopes: ScopeCheck;
  /** Rebuilds level-3 images before they expire (refresh.ts); running from creation to close. */
  readonly refresher: Refresher;
  readonly log: Logger;
  readonly startedAt: Date;
  close(): Promise<void>;
}

export interface ServiceOptions {
  /** An open store to use (tests share one); otherwise opened from the config. */
  readonly store?: ServiceStore;
  readonly taskcluster?: Taskcluster | null;
  readonly workerId?: string;
  readonly leaseMs?: number;
  readonly idlePollMs?: number;
  /** Taskcluster's time, for task times and expiry (tests: the fake Taskcluster's movable clock). */
  readonly clock?: () => Date;
}

export async function createService(config: Config, log: Logger, options: ServiceOptions = {}): Promise<Service> {
  const metrics = new Metrics();
  const store = options.store ?? (await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, maxDecisionBytes: config.maxDecisionBytes }));
  const raw = options.taskcluster !== undefined ? options.taskcluster : config.taskcluster ? createTaskcluster(config.taskcluster) : null;
  const taskcluster = raw ? instrumentTaskcluster(raw, (method, outcome, seconds) => metrics.taskclusterSeconds.observe({ method, outcome }, seconds)) : null;
  // SHA-256 of every repository's contexts runs on these threads (one per core), and included
  // files are read from git once into this spool (TMPDIR, at most 1 GiB); closed with the service.
  const pool = new HashPool();
  const spool = new BlobSpool();
  const clock = options.clock ?? (() => new Date());
  const repos = await openRepositories(config, store, taskcluster, { pool, spool }, clock);
  const contexts = new ContextCache(config.dataDir, store, repos, log);
  const worker = new Worker(store, repos, metrics, log.child({ component: 'worker' }), {
    id: options.workerId ?? process.env.IMAGE_DECIDER_WORKER_ID ?? `${hostname()}:${config.port}`,
    concurrency: config.workerConcurrency,
    leaseMs: options.leaseMs ?? 60_000,
    idlePollMs: options.idlePollMs ?? 1000,
    maxAttempts: config.maxAttempts,
    workersPerRepository: config.workersPerRepository,
  });
  const refresher = new Refresher(
    { store, repos, taskcluster, clock, log: log.child({ component: 'refresh' }), onQueued: () => worker.wake() },
    { intervalMs: config.refresh.intervalMinutes * 60_000, windowMs: config.refresh.windowDays * 24 * 3600_000 },
  );
  const scopes = new ScopeCheck(taskcluster, config, log.child({ component: 'scopes' }));
  // Not awaited: start-up does not wait for the auth service; /health shows the outcome.
  const scopesChecked = scopes.run();
  metrics.gauge('image_decider_backlog_pushes', 'Pushes waiting for a worker', async () => (await store.backlog()).queued);
  metrics.labelledGauge('image_decider_upstream_reachable', 'Whether a repository’s upstream answers fetches (0: unreachable, its pushes wait)', ['repository'], () =>
    [...repos.values()].map((r) => [{ repository: r.config.name }, r.breaker.open ? 0 : 1] as const),
  );
  metrics.counter('image_decider_bytes_hashed_total', 'Context bytes hashed since start', () => sum(repos, (r) => r.hasher.counters.bytesHashed));
  metrics.counter('image_decider_blob_bytes_read_total', 'File content read from git since start (0 for a push whose images are all memoised)', async () => {
    let total = 0;
    for (const repo of repos.values()) total += (await repo.mirror.repo()).stats.blobBytesRead;
    return total;
  });
  metrics.gauge('image_decider_memo_hit_ratio', 'Context hashes answered from the memo', () => {
    const hits = sum(repos, (r) => r.hasher.counters.memoHits);
    const total = hits + sum(repos, (r) => r.hasher.counters.memoMisses);
    return total === 0 ? 0 : hits / total;
  });
  // At start-up and every interval; its first pass does not hold up start-up.
  refresher.start();
  return {
    config,
    store,
    taskcluster,
    repos,
    metrics,
    contexts,
    worker,
    scopes,
    refresher,
    log,
    startedAt: new Date(),
    async close() {
      await refresher.stop();
      await scopesChecked;
      for (const repo of repos.values()) repo.breaker.stop();
      await worker.stop();
      await Promise.all([...repos.values()].map((r) => r.mirror.close()));
      await Promise.all([...repos.values()].map((r) => r.hasher.close()));
      await spool.close();
      await pool.close();
      if (!options.store) await store.close();
    },
  };
}

function sum(repos: ReadonlyMap<string, RepositoryRuntime>, read: (r: RepositoryRuntime) => number): number {
  let total = 0;
  for (const repo of repos.values()) total += read(repo);
  return total;
}
