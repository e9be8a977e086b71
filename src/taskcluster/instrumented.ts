import type { IndexApi, QueueApi, Taskcluster } from './types.ts';

export type Observe = (method: string, outcome: 'ok' | 'error', seconds: number) => void;

function timed<T extends object>(target: T, prefix: string, observe: Observe): T {
  return new Proxy(target, {
    get(obj, key, receiver) {
      const value: unknown = Reflect.get(obj, key, receiver);
      if (typeof value !== 'function' || key === 'artifactUrl') return value;
      return async (...args: unknown[]) => {
        const start = performance.now();
        try {
          const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args);
          observe(`${prefix}.${String(key)}`, 'ok', (performance.now() - start) / 1000);
          return result;
        } catch (err) {
          observe(`${prefix}.${String(key)}`, 'error', (performance.now() - start) / 1000);
          throw err;
        }
      };
    },
  });
}

/** The same client, reporting each call's latency and outcome. */
export function instrumentTaskcluster(tc: Taskcluster, observe: Observe): Taskcluster {
  return {
    rootUrl: tc.rootUrl,
    signed: tc.signed,
    ping: () => tc.ping(),
    currentScopes: () => tc.currentScopes(),
    queue: timed<QueueApi>(tc.queue, 'queue', observe),
    index: timed<IndexApi>(tc.index, 'index', observe),
  };
}
