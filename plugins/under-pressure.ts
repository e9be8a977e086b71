import underPressure from '@fastify/under-pressure';
import fp from 'fastify-plugin';

/** Answers 503 rather than queueing more work when the event loop or the heap is overwhelmed. */
export default fp(
  async (app) => {
    await app.register(underPressure, { maxEventLoopDelay: 2000, maxHeapUsedBytes: 1024 ** 3, exposeStatusRoute: false });
  },
  { name: 'under-pressure' },
);
