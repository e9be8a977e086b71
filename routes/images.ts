import { createHash, randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type as T } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { IMAGE_NAME_PATTERN } from '../src/catalog/kind-file.ts';
import { parseLevel } from '../src/domain/index.ts';
import type { ImageNode } from '../src/graph/types.ts';
import { DeciderError } from '../src/errors.ts';
import { requireBearer } from '../src/http/auth.ts';
import { acceptEmptyJson } from '../src/http/optional-body.ts';
import type { Service } from '../src/service/service.ts';
import { decisionForRev, repositoryParam } from '../src/http/lookup.ts';
import { errors } from '../src/http/schemas.ts';
import { imageView, pushView } from '../src/http/views.ts';

const ImageQuery = T.Object({
  repo: T.Optional(T.String()),
  rev: T.Optional(T.String({ minLength: 1, maxLength: 250, description: 'default HEAD' })),
});
const Name = T.Object({ name: T.String({ pattern: IMAGE_NAME_PATTERN, maxLength: 200 }) });
const REBUILD_WAIT_MS = 10_000;

const HistoryEntry = T.Object({
  pushId: T.String(),
  rev: T.String(),
  ref: T.Union([T.String(), T.Null()]),
  receivedAt: T.String(),
  decidedAt: T.Union([T.String(), T.Null()]),
  decision: T.String({ description: 'indexed, in-flight, build, registry, error or blocked' }),
  reason: T.String(),
  taskId: T.Union([T.String(), T.Null()]),
  taskUrl: T.Union([T.String(), T.Null()], { description: 'the task in the Taskcluster UI, when a root URL is configured (not for a dry run’s ids)' }),
  digest: T.Union([T.String(), T.Null()]),
  contextHash: T.Union([T.String(), T.Null()]),
  artifactUrl: T.Union([T.String(), T.Null()]),
  dryRun: T.Boolean(),
  forced: T.Boolean(),
});

/** A rate-limit bucket per bearer token (hashed: keys are kept in memory). */
function tokenKey(request: FastifyRequest): string {
  return createHash('sha256')
    .update(request.headers.authorization ?? '')
    .digest('hex');
}

/** The rebuild's repository, named in the query (`?repo=`, as errors suggest) or the body. */
function rebuildRepo(inQuery: string | undefined, inBody: string | undefined): string | undefined {
  if (inQuery !== undefined && inBody !== undefined && inQuery !== inBody) {
    throw new DeciderError('bad-request', `the query names repository ${inQuery} and the body ${inBody}: name one`);
  }
  return inQuery ?? inBody;
}

/** Why a forced build of this image would create no task, or null when it is built here. */
function whyNotBuildable(node: ImageNode): string | null {
  if (node.kind === 'registry') return `is pulled from a registry (${node.reference ?? 'kind: registry'}), not built`;
  if (node.kind === 'error') return `cannot be built (${node.error?.code ?? 'error'}: ${node.error?.message ?? 'unknown'})`;
  if (node.kind === 'blocked') return `cannot be built: its parent ${node.blockedBy ?? ''} cannot`;
  return null;
}

const imageRoutes: FastifyPluginAsyncTypebox<{ service: Service }> = async (app, { service }) => {
  // A rebuild's body may be left out, with a JSON content-type or without.
  acceptEmptyJson(app);
  const find = async (name: string, query: { repo?: string; rev?: string }) => {
    const repo = repositoryParam(service, query.repo);
    const found = await decisionForRev(service, repo, query.rev ?? 'HEAD', {});
    const image = found.record?.images.find((i) => i.name === name);
    if (!image) throw new DeciderError('unknown-image', `no image named ${name} at ${found.rev}`);
    return { repo, found, image };
  };

  app.get(
    '/images/:name',
    {
      onRequest: app.readRateLimit,
      schema: {
        tags: ['images'],
        summary: 'One image of a revision, with its decision',
        params: Name,
        querystring: ImageQuery,
        response: { 200: T.Ref('Image'), ...errors(400, 404, 429, 502) },
      },
    },
    async (request) => {
      const { image, found } = await find(request.params.name, request.query);
      return imageView(image, service.config.publicUrl, false, found.unservedContexts);
    },
  );

  // From the store only (no upstream fetch, no preview), so any stored name can be asked for,
  // one the Index cannot hold (an image in error) included.
  app.get(
    '/images/:name/history',
    {
      onRequest: app.readRateLimit,
      schema: {
        tags: ['images'],
        summary: 'The image’s decision in each recorded push, newest first',
        params: T.Object({ name: T.String({ minLength: 1, maxLength: 1000 }) }),
        querystring: T.Object({ repo: T.Optional(T.String()), limit: T.Integer({ minimum: 1, maximum: 200, default: 20 }) }),
        response: {
          200: T.Object({
            repository: T.String(),
            image: T.String(),
            rootUrl: T.Union([T.String(), T.Null()], { description: 'the Taskcluster root URL; null in a dry run' }),
            entries: T.Array(HistoryEntry),
          }),
          ...errors(400, 404, 429),
        },
      },
    },
    async (request) => {
      const repo = repositoryParam(service, request.query.repo);
      const entries = await service.store.imageHistory(repo.config.name, request.params.name, request.query.limit);
      const rootUrl = service.taskcluster?.rootUrl.replace(/\/$/, '') ?? null;
      return {
        repository: repo.config.name,
        image: request.params.name,
        rootUrl,
        entries: entries.map((e) => ({ ...e, taskUrl: rootUrl && e.taskId && !e.dryRun ? `${rootUrl}/tasks/${encodeURIComponent(e.taskId)}` : null })),
      };
    },
  );

  app.get(
    '/images/:name/artifact',
    {
      onRequest: app.readRateLimit,
      schema: {
        tags: ['images'],
        summary: 'Redirects to the built image (`public/image.tar.zst`)',
        description: 'So `curl -L …/artifact | zstd -d | docker load` loads it. The task may still be building.',
        params: Name,
        querystring: ImageQuery,
        response: { 302: T.Null({ description: 'Location: the artifact on the Queue' }), ...errors(400, 404, 429, 502) },
      },
    },
    async (request, reply) => {
      const { image } = await find(request.params.name, request.query);
      if (!image.artifactUrl) throw new DeciderError('not-found', `${image.name} has no built image: ${image.reason}`);
      return reply.redirect(image.artifactUrl, 302);
    },
  );

  app.post(
    '/images/:name/rebuild',
    {
      // Authenticated first, before the body is read; then limited per token, so callers with
      // a wrong token (or everyone behind one proxy) cannot use up an operator's allowance.
      onRequest: async (request) => requireBearer(request, service.config.adminToken, 'rebuilding'),
      // `curl -X POST -H 'Authorization: Bearer …'` sends no body: the defaults apply.
      preValidation: async (request) => {
        request.body ??= {};
      },
      config: { rateLimit: { max: service.config.rateLimit.rebuildsPerMinute, hook: 'preHandler', keyGenerator: tokenKey } },
      schema: {
        tags: ['images'],
        summary: 'Forces a fresh build of one image (and optionally its descendants)',
        description: 'Bearer admin token. Queues a forced decision and waits up to 10 s for it; answers 202 with the new task ids known by then. The body may be left out.',
        'x-optional-body': true,
        params: Name,
        querystring: T.Object({ repo: T.Optional(T.String({ description: 'the repository, as in the body (both may be given if they agree)' })) }),
        headers: T.Object({ authorization: T.Optional(T.String()) }),
        body: T.Optional(
          T.Object(
            {
              repo: T.Optional(T.String()),
              rev: T.Optional(T.String({ minLength: 1, maxLength: 250 })),
              level: T.Optional(T.Integer({ minimum: 1, maximum: 3 })),
              withDescendants: T.Optional(T.Boolean()),
            },
            { additionalProperties: false },
          ),
        ),
        response: {
          202: T.Object({ push: T.Ref('Push'), taskIds: T.Record(T.String(), T.String()) }),
          ...errors(400, 401, 404, 409, 429, 502),
        },
      },
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const repo = repositoryParam(service, rebuildRepo(request.query.repo, body.repo));
      const commit = await repo.mirror.resolve(body.rev ?? 'HEAD');
      const graph = await repo.graph(commit, 3, false);
      const node = graph.images.find((i) => i.name === request.params.name);
      if (!node) throw new DeciderError('unknown-image', `no image named ${request.params.name} at ${commit.sha}`);
      // A forced push of an image that is not built here would force nothing: say so rather than queue it.
      const unbuildable = whyNotBuildable(node);
      if (unbuildable) throw new DeciderError('not-buildable', `${node.name} at ${commit.sha} ${unbuildable}: there is nothing to rebuild`);
      const id = randomUUID();
      const receivedAt = new Date().toISOString();
      const level = parseLevel(body.level ?? 3);
      await service.store.recordDelivery(
        { source: 'rebuild', deliveryId: id, event: 'rebuild', receivedAt, ignoredReason: null },
        {
          id,
          source: 'rebuild',
          repository: repo.config.name,
          ref: null,
          rev: commit.sha,
          level,
          pullRequest: false,
          owner: null,
          force: { image: request.params.name, withDescendants: body.withDescendants ?? false },
          receivedAt,
        },
      );
      service.worker.wake();
      const deadline = Date.now() + REBUILD_WAIT_MS;
      let push = (await service.store.getPush(id))!;
      while ((push.state === 'queued' || push.state === 'deciding') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        push = (await service.store.getPush(id))!;
      }
      const record = await service.store.getDecision(id);
      const taskIds: Record<string, string> = {};
      for (const image of record?.images ?? []) if (image.decision === 'build' && image.taskId) taskIds[image.name] = image.taskId;
      return reply.status(202).send({ push: pushView(push) as never, taskIds });
    },
  );
};

export default imageRoutes;
