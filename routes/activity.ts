import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type as T } from '@sinclair/typebox';
import type { Service } from '../src/service/service.ts';
import { repositoryParam } from '../src/http/lookup.ts';
import { errors } from '../src/http/schemas.ts';
import type { ActivityHour } from '../src/domain/index.ts';

const HOUR_MS = 3_600_000;
const Seconds = T.Union([T.Number(), T.Null()]);
const Hour = T.Object({
  hour: T.String({ description: 'the hour’s start (UTC)' }),
  decided: T.Integer({ description: 'pushes decided in the hour' }),
  failed: T.Integer(),
  latencyP50: T.Union([T.Number(), T.Null()], { description: 'seconds from receipt to decided, nearest-rank median of the pushes decided in the hour; null when none' }),
  latencyP95: Seconds,
  builds: T.Integer({ description: 'build tasks created in the Queue in the hour' }),
});

/** Every hour of the window, the quiet ones as zeros, so a chart's axis is the window's. */
function everyHour(since: number, hours: number, busy: readonly ActivityHour[]): ActivityHour[] {
  const byHour = new Map(busy.map((h) => [h.hour, h]));
  return Array.from({ length: hours }, (_, i) => {
    const hour = new Date(since + i * HOUR_MS).toISOString();
    return byHour.get(hour) ?? { hour, decided: 0, failed: 0, latencyP50: null, latencyP95: null, builds: 0 };
  });
}

const activityRoutes: FastifyPluginAsyncTypebox<{ service: Service }> = async (app, { service }) => {
  app.get(
    '/activity',
    {
      onRequest: app.readRateLimit,
      schema: {
        tags: ['operations'],
        summary: 'Pushes decided, decision latency and builds per hour, over the last hours (the current one included)',
        querystring: T.Object({
          hours: T.Integer({ minimum: 1, maximum: 168, default: 24 }),
          repo: T.Optional(T.String({ description: 'one repository; default all' })),
        }),
        response: { 200: T.Object({ since: T.String(), until: T.String(), hours: T.Array(Hour) }), ...errors(400, 404, 429) },
      },
    },
    async (request) => {
      const { hours, repo } = request.query;
      const repository = repo === undefined ? undefined : repositoryParam(service, repo).config.name;
      const until = (Math.floor(Date.now() / HOUR_MS) + 1) * HOUR_MS;
      const since = until - hours * HOUR_MS;
      const busy = await service.store.activity({ since: new Date(since), until: new Date(until), ...(repository ? { repository } : {}) });
      return { since: new Date(since).toISOString(), until: new Date(until).toISOString(), hours: everyHour(since, hours, busy) };
    },
  );
};

export default activityRoutes;
