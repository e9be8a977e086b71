import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type as T } from '@sinclair/typebox';
import { checkHealth } from '../src/service/health.ts';
import type { Service } from '../src/service/service.ts';

const Check = T.Object({ name: T.String(), status: T.String(), detail: T.String() });
const HealthSchema = T.Object({
  status: T.Union([T.Literal('ok'), T.Literal('degraded'), T.Literal('down')]),
  checks: T.Array(Check),
  backlog: T.Object({ queued: T.Integer(), deciding: T.Integer(), oldestQueuedSeconds: T.Union([T.Number(), T.Null()]) }),
  lastError: T.Union([T.Object({ at: T.String(), message: T.String() }), T.Null()]),
  dryRun: T.Boolean(),
  uptimeSeconds: T.Integer(),
});

const healthRoutes: FastifyPluginAsyncTypebox<{ service: Service }> = async (app, { service }) => {
  app.get('/health', {
    schema: {
      tags: ['operations'],
      summary: 'Each dependency’s state: 200 when ok or degraded, 503 when down',
      response: { 200: HealthSchema, 503: HealthSchema },
    },
  }, async (_request, reply) => {
    const health = await checkHealth(service);
    return reply.status(health.status === 'down' ? 503 : 200).send({ ...health, checks: [...health.checks] });
  });

  app.get('/metrics', {
    schema: { tags: ['operations'], summary: 'Prometheus metrics', produces: ['text/plain'], response: { 200: T.String() } },
  }, async (_request, reply) => {
    return reply.type(service.metrics.registry.contentType).send(await service.metrics.registry.metrics());
  });
};

export default healthRoutes;
