import rateLimit from '@fastify/rate-limit';
import fp from 'fastify-plugin';

/**
 * @fastify/rate-limit for the whole app, applied only to the routes whose `config.rateLimit`
 * asks for it (`global: false`): each says what it is limited by.
 */
export default fp(
  async (app) => {
    await app.register(rateLimit, { global: false, max: 10, timeWindow: '1 minute' });
  },
  { name: 'rate-limit' },
);
