import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type as T } from '@sinclair/typebox';
import { checkHealth } from '../src/service/health.ts';
import type { Service } from '../src/service/service.ts';

const Check = T.Object({ name: T.String(), status: T.String(), detail: T.String() });
const Repository = T.Object(
  {
    name: T.String(),
    reachable: T.Boolean({ description: 'false after upstreamBreaker.failures fetch failures in a row, until a probe fetch succeeds: its pushes wait meanwhile' }),
    since: T.Union([T.String(), T.Null()], { description: 'when it became unreachable' }),
    failures: T.Integer({ description: 'fetch failures in a row' }),
    lastError: T.Union([T.String(), T.Null()], { description: 'why the last fetch failed, until one succeeds' }),
    lastFetchAt: T.Union([T.String(), T.Null()]),
  },
  { description: 'A repository’s upstream' },
);
const Expiring = T.Object(
  {
    repository: T.String(),
    image: T.String(),
    digest: T.String(),
    taskId: T.String({ description: 'the task serving the image in a level-3 branch’s last decided graph' }),
    expires: T.String({ description: 'when it, or its public/image.tar.zst if sooner, expires' }),
    refresh: T.Union([T.Literal('queued'), T.Literal('would-queue'), T.Literal('done'), T.Literal('failed')], {
      description: 'the forced rebuild push (reason `refresh: expires <date>`): queued or being decided, done (decided) or failed; would-queue in a dry run, which queues nothing',
    }),
    pushId: T.Union([T.String(), T.Null()]),
  },
  { description: 'A level-3 image whose task expires within refresh.windowDays' },
);
const HealthSchema = T.Object({
  status: T.Union([T.Literal('ok'), T.Literal('degraded'), T.Literal('down')], { description: 'down: the store cannot answer; degraded: a dependency or an upstream is failing' }),
  checks: T.Array(Check),
  repositories: T.Array(Repository),
  backlog: T.Object({ queued: T.Integer(), deciding: T.Integer(), oldestQueuedSeconds: T.Union([T.Number(), T.Null()]) }),
  lastError: T.Union([T.Object({ at: T.String(), message: T.String() }), T.Null()]),
  dryRun: T.Boolean(),
  uptimeSeconds: T.Integer(),
  expiring: T.Array(Expiring, { description: 'soonest first' }),
  refresh: T.Object({
    windowDays: T.Number(),
    intervalMinutes: T.Number(),
    lastRunAt: T.Union([T.String(), T.Null()], { description: 'when this process last looked for images close to expiry' }),
    lastError: T.Union([T.Object({ at: T.String(), message: T.String() }), T.Null()]),
  }),
});

const healthRoutes: FastifyPluginAsyncTypebox<{ service: Service }> = async (app, { service }) => {
  app.get(
    '/health',
    {
      schema: {
        tags: ['operations'],
        summary: 'Each dependency’s state: 200 when ok or degraded, 503 when down or overloaded',
        response: {
          200: HealthSchema,
          // Every 503 must fit: one that did not (under-pressure's error) was answered as a 500.
          503: T.Union([HealthSchema, T.Ref('Error')], {
            description: 'The store is down (the health, status down), or the process is overloaded (Error `unavailable`, with Retry-After: nothing was checked)',
          }),
        },
      },
    },
    async (_request, reply) => {
      const health = await checkHealth(service);
      return reply
        .status(health.status === 'down' ? 503 : 200)
        .send({ ...health, checks: [...health.checks], repositories: [...health.repositories], expiring: [...health.expiring] });
    },
  );

  app.get(
    '/metrics',
    {
      schema: { tags: ['operations'], summary: 'Prometheus metrics', produces: ['text/plain'], response: { 200: T.String() } },
    },
    async (_request, reply) => {
      return reply.type(service.metrics.registry.contentType).send(await service.metrics.registry.metrics());
    },
  );
};

export default healthRoutes;
