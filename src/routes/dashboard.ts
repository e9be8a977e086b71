import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type as T } from '@sinclair/typebox';
import type { Service } from '../service/service.ts';

// A placeholder until the dashboard lands; kept so the app's routes are complete.
const dashboardRoutes: FastifyPluginAsyncTypebox<{ service: Service }> = async (app) => {
  app.get('/dashboard', {
    schema: { tags: ['dashboard'], summary: 'The health dashboard (HTML)', produces: ['text/html'], response: { 200: T.String() } },
  }, async (_request, reply) => reply.type('text/html; charset=utf-8').send('<!doctype html><title>image-decider</title><p>dashboard</p>'));
};

export default dashboardRoutes;
