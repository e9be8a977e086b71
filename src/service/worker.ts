import type { Logger } from 'pino';
import { isDeciderError } from '../errors.ts';
import type { PushPatch, PushRecord } from '../domain/index.ts';
import type { ServiceStore } from '../store/service-store.ts';
import { isStoreUnavailable } from '../store/sql/client.ts';
import type { Metrics } from './metrics.ts';
import { decisionCounts, processPush } from './process-push.ts';
import type { RepositoryRuntime } from './repositories.ts';

/**
 * Failures worth another attempt later, up to the attempt cap: outages (Taskcluster, the
 * remote, the store) and missing scopes (a configuration problem an operator can fix while
 * the push waits). Anything else (a refusal, a bug, a corrupt remote) fails the push at once.
 */
const TRANSIENT = new Set(['taskcluster-unavailable', 'fetch-failed', 'unavailable', 'insufficient-scopes']);
/** A push failing with one of these while its repository's breaker is open waits for the upstream. */
const UPSTREAM = new Set(['fetch-failed', 'unavailable']);
const MAX_BACKOFF_MS = 5 * 60_000;
/** The longest wait between attempts to record a failure while the store is away. */
const MAX_STORE_WAIT_MS = 5000;

export interface WorkerOptions {
  readonly id: string;
  readonly concurrency: number;
  readonly leaseMs: number;
  readonly idlePollMs: number;
  /** Attempts (claims) of one push before a transient failure fails it for good. */
  readonly maxAttempts: number;
  /** Workers (of every process on the store) one repository's pushes may hold at once; default 1. */
  readonly workersPerRepository?: number;
}

/**
 * Claims queued pushes from the store and decides them. Claims are leases renewed while
 * working, so a push held by a process that died is taken over once its lease runs out.
 */
export class Worker {
  private running = false;
  private started = false;
  private loops: Promise<void>[] = [];
  private readonly wakers = new Set<() => void>();
  lastError: { at: string; message: string } | null = null;
  /** The latest scope refusal, until a push is decided again: a configuration problem. */
  scopeProblem: { at: string; message: string } | null = null;

  constructor(
    private readonly store: ServiceStore,
    private readonly repos: ReadonlyMap<string, RepositoryRuntime>,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    readonly options: WorkerOptions,
  ) {}

  /** Starts the loops after taking back what this worker id held before a restart. */
  async start(): Promise<void> {
    if (this.running) return;
    this.started = true;
    const released = await this.store.releaseClaims(this.options.id);
    if (released > 0) this.log.info({ released }, 'took back pushes this worker held before it stopped');
    this.running = true;
    // An upstream answering again: its waiting pushes are due at once.
    for (const repo of this.repos.values()) repo.breaker.onChange(() => this.wake());
    this.loops = Array.from({ length: this.options.concurrency }, () => this.loop());
  }

  /** New work arrived: stop waiting. */
  wake(): void {
    for (const wake of [...this.wakers]) wake();
  }

  private stopping: Promise<void> | null = null;

  /** Finishes the pushes in hand, then gives back any claim left. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.running = false;
      this.wake();
      await Promise.all(this.loops);
      // A worker never started (an intake-only process) holds no claim: those under its id
      // are another process's. With the store away the claims cannot be given back: their
      // leases run out instead.
      if (!this.started) return;
      await this.store.releaseClaims(this.options.id).catch((err: unknown) => this.noteError(err, 'giving back claims failed'));
    })();
    return this.stopping;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let push: PushRecord | null = null;
      try {
        push = await this.store.claimPush(this.options.id, new Date(), this.options.leaseMs, {
          skipRepositories: this.unreachable(),
          maxPerRepository: this.options.workersPerRepository ?? 1,
          maxAttempts: this.options.maxAttempts,
        });
      } catch (err) {
        this.noteError(err, 'claiming a push failed');
      }
      if (push) await this.handle(push);
      else await this.pause();
    }
  }

  /** Repositories whose upstream is down: their pushes stay queued, holding no worker. */
  private unreachable(): string[] {
    return [...this.repos.values()].filter((repo) => repo.breaker.open).map((repo) => repo.config.name);
  }

  /** Waits `ms`, or less when woken (new work, stopping). */
  private pause(ms = this.options.idlePollMs): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  private async handle(push: PushRecord): Promise<void> {
    const started = process.hrtime.bigint();
    const log = this.log.child({ pushId: push.id, repository: push.repository, rev: push.rev });
    const renew = setInterval(() => {
      const until = new Date(Date.now() + this.options.leaseMs);
      this.store.renewClaim(push.id, this.options.id, until).catch((err: unknown) => this.noteError(err, 'renewing a claim failed'));
    }, this.options.leaseMs / 3);
    const phases: Record<string, number> = {};
    try {
      const record = await processPush(
        push,
        this.repos,
        this.store,
        async (sha) => {
          await this.store.updatePush(push.id, this.options.id, { resolvedRev: sha });
        },
        phases,
      );
      this.scopeProblem = null;
      const counts = decisionCounts(record);
      await this.store.updatePush(push.id, this.options.id, { state: 'decided', counts, lastError: null, finishedAt: new Date().toISOString() });
      this.metrics.observeDecision(Number(process.hrtime.bigint() - started) / 1e9, record);
      log.info({ counts, seconds: Number(process.hrtime.bigint() - started) / 1e9, ...phases }, 'push decided');
    } catch (err) {
      await this.fail(push, err, log);
    } finally {
      clearInterval(renew);
    }
  }

  private async fail(push: PushRecord, err: unknown, log: Logger): Promise<void> {
    const error = isDeciderError(err) ? err.toJSON() : { code: 'internal-error' as const, message: (err as Error).message };
    this.noteError(err, 'deciding a push failed', log);
    if (error.code === 'insufficient-scopes') this.scopeProblem = { at: new Date().toISOString(), message: error.message };
    if (UPSTREAM.has(error.code) && this.repos.get(push.repository)?.breaker.open) {
      // Its upstream is down: the push waits for it, unclaimed, and this did not count as a try.
      await this.record(push, { state: 'queued', notBefore: new Date().toISOString(), attempts: push.attempts - 1, lastError: error });
      this.metrics.pushFailures.inc({ retry: 'waiting' });
      return;
    }
    const transient = TRANSIENT.has(error.code);
    const retry = transient && push.attempts < this.options.maxAttempts;
    const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(push.attempts, 10));
    const patch = retry
      ? { state: 'queued' as const, notBefore: new Date(Date.now() + backoff).toISOString(), lastError: error }
      : {
          state: 'failed' as const,
          lastError: transient ? { ...error, message: `gave up after ${push.attempts} attempt${push.attempts === 1 ? '' : 's'}: ${error.message}` } : error,
          finishedAt: new Date().toISOString(),
        };
    await this.record(push, patch);
    this.metrics.pushFailures.inc({ retry: String(retry) });
  }

  /**
   * Stores a push's failure, waiting out a store outage (a database restart): otherwise the
   * push would stay claimed, untouched, until its lease ran out.
   */
  private async record(push: PushRecord, patch: PushPatch): Promise<void> {
    for (let wait = 250; ; wait = Math.min(wait * 2, MAX_STORE_WAIT_MS)) {
      try {
        await this.store.updatePush(push.id, this.options.id, patch);
        return;
      } catch (err) {
        this.noteError(err, 'recording a failure failed');
        // Stopping gives back the claims anyway.
        if (!this.running) return;
        // Anything but an outage will not heal by waiting: rather than leave the push deciding,
        // unseen, until its lease runs out (and again at every claim), it fails with what
        // can always be stored.
        if (!isStoreUnavailable(err)) return this.recordUnrecordable(push, err);
      }
      await this.pause(wait);
    }
  }

  private async recordUnrecordable(push: PushRecord, err: unknown): Promise<void> {
    const message = `its failure could not be recorded: ${err instanceof Error ? err.message : String(err)}`;
    await this.store
      .updatePush(push.id, this.options.id, { state: 'failed', lastError: { code: 'internal-error', message }, finishedAt: new Date().toISOString() })
      .catch((again: unknown) => this.noteError(again, 'recording that a failure could not be recorded failed'));
  }

  private noteError(err: unknown, what: string, log: Logger = this.log): void {
    const message = err instanceof Error ? err.message : String(err);
    this.lastError = { at: new Date().toISOString(), message: `${what}: ${message}` };
    log.warn({ err }, what);
  }
}
