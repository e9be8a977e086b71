import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type as T } from '@sinclair/typebox';
import { DeciderError } from '../src/errors.ts';
import { requireBearer } from '../src/http/auth.ts';
import { acceptEmptyJson } from '../src/http/optional-body.ts';
import type { Service } from '../src/service/service.ts';
import { errors } from '../src/http/schemas.ts';
import { imageView, pushView } from '../src/http/views.ts';

const pushRoutes: FastifyPluginAsyncTypebox<{ service: Service }> = async (app, { service }) => {
  // A retry's body may be left out, with a JSON content-type or without.
  acceptEmptyJson(app);
  app.get(
    '/pushes',
    {
      schema: {
        tags: ['pushes'],
        summary: 'Recent pushes, newest first, with state, timings and decision counts',
        querystring: T.Object({ repo: T.Optional(T.String()), limit: T.Integer({ minimum: 1, maximum: 500, default: 50 }) }),
        response: { 200: T.Object({ pushes: T.Array(T.Ref('Push')) }), ...errors(400) },
      },
    },
    async (request) => {
      const pushes = await service.store.listPushes({ ...(request.query.repo ? { repository: request.query.repo } : {}), limit: request.query.limit });
      return { pushes: pushes.map(pushView) as never[] };
    },
  );

  app.get(
    '/pushes/:id',
    {
      schema: {
        tags: ['pushes'],
        summary: 'One push, with its decisions',
        params: T.Object({ id: T.String({ maxLength: 100 }) }),
        response: { 200: T.Object({ push: T.Ref('Push'), images: T.Record(T.String(), T.Ref('Image')) }), ...errors(404) },
      },
    },
    async (request) => {
      const push = await service.store.getPush(request.params.id);
      if (!push) throw new DeciderError('not-found', `no push ${request.params.id}`);
      const record = await service.store.getDecision(push.id);
      const images = Object.fromEntries((record?.images ?? []).map((i) => [i.name, imageView(i, service.config.publicUrl)]));
      return { push: pushView(push) as never, images: images as never };
    },
  );

  app.post(
    '/pushes/:id/retry',
    {
      // The token first, before the body is read or checked: a caller without one is told so.
      onRequest: async (request) => requireBearer(request, service.config.adminToken, 'retrying a push'),
      // `curl -X POST -H 'Authorization: Bearer …'` sends no body: none is as good as `{}`.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags: ['pushes'],
        summary: 'Queues a failed push again (attempts reset), or makes a queued one due now',
        description:
          'Bearer admin token. For a push that gave up (after an outage, or missing scopes since granted); its stored plan, if any, is resumed. The body (`{}`) may be left out.',
        'x-optional-body': true,
        params: T.Object({ id: T.String({ minLength: 1, maxLength: 100 }) }),
        headers: T.Object({ authorization: T.Optional(T.String()) }),
        body: T.Optional(T.Object({}, { additionalProperties: false })),
        response: { 202: T.Object({ push: T.Ref('Push') }), ...errors(400, 401, 404, 409) },
      },
    },
    async (request, reply) => {
      const push = await service.store.retryPush(request.params.id, new Date());
      if (!push) {
        const existing = await service.store.getPush(request.params.id);
        if (!existing) throw new DeciderError('not-found', `no push ${request.params.id}`);
        throw new DeciderError('conflict', `push ${existing.id} is ${existing.state}: only a failed or queued push can be retried`);
      }
      request.log.info({ pushId: push.id }, 'push retried by an operator');
      service.worker.wake();
      return reply.status(202).send({ push: pushView(push) as never });
    },
  );
};

export default pushRoutes;
