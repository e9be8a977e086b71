import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type as T } from '@sinclair/typebox';
import type { Service } from '../src/service/service.ts';
import { decisionForRev, repositoryParam } from '../src/http/lookup.ts';
import { errors } from '../src/http/schemas.ts';
import { graphView } from '../src/http/views.ts';

const graphRoutes: FastifyPluginAsyncTypebox<{ service: Service }> = async (app, { service }) => {
  app.get(
    '/graph',
    {
      onRequest: app.readRateLimit,
      schema: {
        tags: ['graph'],
        summary: 'The image graph of a revision, with each image’s decision',
        description:
          'The recorded decision for the revision (its state and timings), or, when none was recorded, a read-only preview computed on the spot (`state: "preview"`; nothing is recorded or created).',
        querystring: T.Object({
          rev: T.String({ minLength: 1, maxLength: 250, description: 'a commit sha, a branch, a tag or HEAD' }),
          repo: T.Optional(T.String({ description: 'repository name; optional when only one is configured' })),
          level: T.Optional(T.Integer({ minimum: 1, maximum: 3, description: 'previews only: the trust level (default: the ref’s, else 3)' })),
          pr: T.Optional(T.Boolean({ description: 'previews only: as a pull request' })),
          definitions: T.Optional(T.Boolean({ description: 'include each new task’s definition' })),
        }),
        response: { 200: T.Ref('Graph'), ...errors(400, 404, 429, 502, 503) },
      },
    },
    async (request) => {
      const { rev, repo: name, level, pr, definitions } = request.query;
      const repo = repositoryParam(service, name);
      const found = await decisionForRev(service, repo, rev, { ...(level ? { level } : {}), ...(pr !== undefined ? { pullRequest: pr } : {}) });
      return graphView({ repo: repo.config.name, ...found, publicUrl: service.config.publicUrl, withDefinitions: definitions ?? false });
    },
  );
};

export default graphRoutes;
