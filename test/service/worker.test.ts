import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { DeciderError } from '../../src/errors.ts';
import { UpstreamBreaker } from '../../src/service/breaker.ts';
import { Metrics } from '../../src/service/metrics.ts';
import type { RepositoryRuntime } from '../../src/service/repositories.ts';
import { Worker } from '../../src/service/worker.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { PushRecord } from '../../src/domain/index.ts';
import type { ServiceStore } from '../../src/store/service-store.ts';
import { freshDatabase } from '../support/pg.ts';
import { tempDir } from '../support/temp.ts';

/** A repository whose deciding always throws `err` (a deterministic bug, or a corrupt remote), after `before`. */
function throwing(err: Error | (() => Error), breaker = new UpstreamBreaker('acme', { failures: 3, probeIntervalMs: 60_000 })): ReadonlyMap<string, RepositoryRuntime> {
  const repo = {
    config: { name: 'acme' },
    breaker,
    decider: {
      lookAhead: () => {
        throw typeof err === 'function' ? err() : err;
      },
    },
    mirror: { warm: () => undefined },
  };
  return new Map([['acme', repo as unknown as RepositoryRuntime]]);
}

/** The worker's retry rules (issue 13): only transient codes are retried, and only up to the cap. */
describe('the worker retries only what may heal, and not forever', () => {
  let store: ServiceStore;
  before(async () => {
    store = await openStore({ databaseUrl: await freshDatabase(), dataDir: await tempDir() });
  });
  after(() => store.close());

  const queue = async (id: string) => {
    const receivedAt = new Date().toISOString();
    await store.recordDelivery(
      { source: 'generic', deliveryId: id, event: 'push', receivedAt, ignoredReason: null },
      { id, source: 'generic', repository: 'acme', ref: 'refs/heads/main', rev: 'a'.repeat(40), level: 3, pullRequest: false, owner: null, force: null, receivedAt },
    );
  };
  const run = async (err: Error | (() => Error), id: string, until: (p: PushRecord) => boolean, maxAttempts = 3, breaker?: UpstreamBreaker) => {
    await queue(id);
    const worker = new Worker(store, throwing(err, breaker), new Metrics(), pino({ level: 'silent' }), {
      id: `w-${id}`,
      concurrency: 1,
      leaseMs: 5000,
      idlePollMs: 20,
      maxAttempts,
    });
    await worker.start();
    const deadline = Date.now() + 15_000;
    try {
      for (;;) {
        const push = (await store.getPush(id))!;
        if (until(push)) return push;
        assert.ok(Date.now() < deadline, `push is ${push.state} after ${push.attempts} attempts`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await worker.stop();
    }
  };

  it('an uncoded error (a bug) fails the push at its first attempt, with its message', async () => {
    const push = await run(new TypeError('cannot read properties of undefined'), 'bug-1', (p) => p.state !== 'queued' && p.state !== 'deciding');
    assert.deepEqual([push.state, push.attempts, push.lastError], ['failed', 1, { code: 'internal-error', message: 'cannot read properties of undefined' }]);
  });

  it('a transient code is retried with backoff, then fails after maxAttempts with its reason', async () => {
    const first = await run(new DeciderError('fetch-failed', 'remote hung up'), 'flaky-1', (p) => p.attempts === 1 && p.state === 'queued', 2);
    assert.ok(Date.parse(first.notBefore) > Date.now(), 'backed off');
    const push = await run(new DeciderError('fetch-failed', 'remote hung up'), 'flaky-2', (p) => p.state === 'failed', 1);
    assert.equal(push.attempts, 1);
    assert.deepEqual(push.lastError, { code: 'fetch-failed', message: 'gave up after 1 attempt: remote hung up' });
  });

  it('a push whose upstream is unreachable waits: put back with its attempt given back, not claimed until the upstream answers', async () => {
    const breaker = new UpstreamBreaker('acme', { failures: 1, probeIntervalMs: 60_000 });
    let fetches = 0;
    // The mirror's fetch as the breaker sees it: it fails, and opens the breaker (one failure is its threshold).
    const hung = () => {
      fetches += 1;
      // Once the upstream answers, the push gets past its fetch (and fails on a bug, which is final).
      if (fetches > 1) return new TypeError('past the fetch');
      breaker.record('fetching acme: timed out after 15 s');
      return new DeciderError('fetch-failed', 'fetching acme: timed out after 15 s');
    };
    const waiting = await run(hung, 'hung-1', (p) => p.state === 'queued' && p.lastError !== null, 1, breaker);
    assert.deepEqual([waiting.attempts, waiting.lastError?.code, breaker.open], [0, 'fetch-failed', true], 'maxAttempts 1, yet not failed');
    assert.ok(Date.parse(waiting.notBefore) <= Date.now(), 'due at once: only the breaker holds it');
    // With the breaker open the worker never claims it, however long it runs.
    const worker = new Worker(store, throwing(hung, breaker), new Metrics(), pino({ level: 'silent' }), {
      id: 'w-hung-2',
      concurrency: 2,
      leaseMs: 5000,
      idlePollMs: 20,
      maxAttempts: 1,
    });
    await worker.start();
    try {
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual([(await store.getPush('hung-1'))!.state, (await store.getPush('hung-1'))!.attempts, fetches], ['queued', 0, 1]);
      breaker.record(null);
      const deadline = Date.now() + 10_000;
      while ((await store.getPush('hung-1'))!.state !== 'failed') {
        assert.ok(Date.now() < deadline, 'claimed once the upstream answers');
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual([(await store.getPush('hung-1'))!.attempts, fetches], [1, 2]);
    } finally {
      await worker.stop();
    }
  });

  it('an operator retry queues a failed push at once with its attempts reset', async () => {
    const again = await store.retryPush('bug-1', new Date());
    assert.deepEqual([again?.state, again?.attempts, again?.finishedAt], ['queued', 0, null]);
    assert.equal(await store.retryPush('no-such-push', new Date()), null);
  });
});
