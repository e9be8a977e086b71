import rateLimit from '@fastify/rate-limit';
import type { onRequestAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { DeciderError } from '../src/errors.ts';
import type { Service } from '../src/service/service.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The reads that can make the service fetch from upstream or build a preview graph
     * (GET /graph, /images/*): one allowance per client address for all of them together.
     */
    readRateLimit: onRequestAsyncHookHandler;
  }
}

/**
 * @fastify/rate-limit for the whole app, on the routes that ask for it: `readRateLimit` as
 * their onRequest hook, or their own `config.rateLimit` (`global: false`). Over the limit:
 * 429 `rate-limited` with Retry-After (seconds).
 */
export default fp<{ service: Service }>(
  async (app, { service }) => {
    await app.register(rateLimit, {
      global: false,
      timeWindow: '1 minute',
      errorResponseBuilder: (_request, context) => new DeciderError('rate-limited', `more than ${context.max} requests a minute: retry in ${context.after}`),
    });
    // One limiter (one store) shared by every route that uses it.
    app.decorate('readRateLimit', app.rateLimit({ max: service.config.rateLimit.readsPerMinute }));
  },
  { name: 'rate-limit' },
);
