import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DecisionRecord } from '../domain/index.ts';

/** The service's Prometheus metrics, on a registry of its own (no process-wide singleton). */
export class Metrics {
  readonly registry = new Registry();
  readonly webhooks = new Counter({
    name: 'image_decider_webhooks_total',
    help: 'Webhook deliveries by source and outcome',
    labelNames: ['source', 'outcome'],
    registers: [this.registry],
  });
  readonly decisionSeconds = new Histogram({
    name: 'image_decider_decision_seconds',
    help: 'Time from claiming a push to its last task submitted',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly decisions = new Counter({ name: 'image_decider_decisions_total', help: 'Image decisions by kind', labelNames: ['decision'], registers: [this.registry] });
  readonly pushFailures = new Counter({
    name: 'image_decider_push_failures_total',
    help: 'Failed push attempts, by what follows: retry true (backoff) or false (failed), or waiting (its upstream is unreachable: no attempt used)',
    labelNames: ['retry'],
    registers: [this.registry],
  });
  readonly taskclusterSeconds = new Histogram({
    name: 'image_decider_taskcluster_request_seconds',
    help: 'Queue and Index calls (after the client retries)',
    labelNames: ['method', 'outcome'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  readonly contextsServed = new Counter({
    name: 'image_decider_contexts_served_total',
    help: 'Context tarballs served, by cache outcome',
    labelNames: ['cache'],
    registers: [this.registry],
  });

  constructor() {
    // The process's memory when scraped, under the names of prom-client's default metrics
    // (which would also start an observer and a timer for each registry, never stopped).
    this.gauge('process_resident_memory_bytes', 'Resident memory size in bytes', () => process.memoryUsage.rss());
    this.gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes', () => process.memoryUsage().heapTotal);
    this.gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes', () => process.memoryUsage().heapUsed);
    this.gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes', () => process.memoryUsage().external);
  }

  observeDecision(seconds: number, record: DecisionRecord): void {
    this.decisionSeconds.observe(seconds);
    for (const image of record.images) this.decisions.inc({ decision: image.decision });
  }

  /** A gauge with one value per label set, read when scraped. */
  labelledGauge(name: string, help: string, labelNames: readonly string[], read: () => ReadonlyArray<readonly [Record<string, string>, number]>): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.set(labels, value);
      },
    });
  }

  /**
   * A counter whose cumulative value (bytes since start, say) is read when scraped: exported
   * as a counter (`_total`), so `rate()` works and a restart reads as a counter reset.
   */
  counter(name: `${string}_total`, help: string, read: () => number | Promise<number>): void {
    new Counter({
      name,
      help,
      registers: [this.registry],
      async collect() {
        const value = await read();
        this.reset();
        this.inc(value);
      },
    });
  }

  /** Gauges read when scraped. */
  gauge(name: string, help: string, read: () => number | Promise<number>): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await read());
      },
    });
  }
}
