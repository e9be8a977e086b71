import { DeciderError } from '../errors.ts';
import type { FetchGate } from '../mirror/git-mirror.ts';

export interface BreakerOptions {
  /** Fetch failures in a row after which the upstream is unreachable. */
  readonly failures: number;
  /** While unreachable, one probe fetch this long after the last one ended. */
  readonly probeIntervalMs: number;
}

/** What /health and the dashboard show of one repository's upstream. */
export interface UpstreamState {
  readonly name: string;
  readonly reachable: boolean;
  /** When it became unreachable; null while reachable. */
  readonly since: string | null;
  /** Fetch failures in a row (the breaker opens at its threshold). */
  readonly failures: number;
  /** Why the last fetch failed; null once one succeeded. */
  readonly lastError: string | null;
}

/**
 * One repository's upstream breaker. After `failures` fetch failures in a row the upstream
 * is unreachable: every fetch is refused at once (`unavailable`), so its pushes wait unclaimed
 * instead of holding workers through fetch timeouts, and anonymous reads answer from the
 * mirror or at once. Meanwhile one probe fetch at a time tries the upstream; the first fetch
 * that succeeds makes it reachable again, and the listeners (the worker) are told.
 */
export class UpstreamBreaker implements FetchGate {
  private failuresInARow = 0;
  private openedAt: Date | null = null;
  private lastError: string | null = null;
  private probe: (() => Promise<void>) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly repository: string,
    private readonly options: BreakerOptions,
  ) {}

  /** How to try the upstream while it is unreachable: a fetch this breaker does not refuse. */
  probeWith(probe: () => Promise<void>): void {
    this.probe = probe;
  }

  /** Called when the upstream becomes unreachable or reachable again. */
  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  get open(): boolean {
    return this.openedAt !== null;
  }

  refusal(): DeciderError | null {
    if (!this.openedAt) return null;
    return new DeciderError(
      'unavailable',
      `${this.repository} is unreachable since ${this.openedAt.toISOString()} (${this.failuresInARow} fetches failed in a row; the last: ${this.lastError})`,
    );
  }

  record(failure: string | null): void {
    if (failure === null) {
      const wasOpen = this.open;
      this.failuresInARow = 0;
      this.openedAt = null;
      this.lastError = null;
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      if (wasOpen) this.notify();
      return;
    }
    this.failuresInARow += 1;
    this.lastError = failure;
    if (!this.open && this.failuresInARow >= this.options.failures) {
      this.openedAt = new Date();
      this.scheduleProbe();
      this.notify();
    }
  }

  state(): UpstreamState {
    return { name: this.repository, reachable: !this.open, since: this.openedAt?.toISOString() ?? null, failures: this.failuresInARow, lastError: this.lastError };
  }

  /** No probe after this (the service is closing); a probe running now ends with its fetch. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private scheduleProbe(): void {
    const probe = this.probe;
    if (this.stopped || !probe || this.timer) return;
    this.timer = setTimeout(() => {
      // The probe's outcome reaches record() through the mirror, like any fetch's.
      void probe()
        .catch(() => undefined)
        .finally(() => {
          this.timer = null;
          if (this.open) this.scheduleProbe();
        });
    }, this.options.probeIntervalMs);
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
