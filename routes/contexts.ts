import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type as T } from '@sinclair/typebox';
import { DeciderError } from '../src/errors.ts';
import { CONTEXT_NAME } from '../src/service/context-cache.ts';
import type { Service } from '../src/service/service.ts';
import { errors } from '../src/http/schemas.ts';

const contextRoutes: FastifyPluginAsyncTypebox<{ service: Service }> = async (app, { service }) => {
  app.get(
    '/contexts/:file',
    {
      schema: {
        tags: ['contexts'],
        summary: 'A context tarball, by its context hash',
        description:
          'The gzipped tar whose uncompressed bytes hash to the name. Immutable (`ETag`, `cache-control: immutable`): cached on disk and re-made from the recorded repository, revision and image when not. Errors are `no-store`. HEAD answers the headers alone.',
        params: T.Object({ file: T.String({ description: '`<contextHash>.tar.gz`' }) }),
        produces: ['application/gzip'],
        response: { 200: T.Unsafe({ type: 'string', format: 'binary', description: 'gzip-compressed tar' }), 304: T.Null(), ...errors(404, 502) },
      },
    },
    async (request, reply) => {
      const match = CONTEXT_NAME.exec(request.params.file);
      if (!match) throw new DeciderError('not-found', 'contexts are named <64 hex digits>.tar.gz');
      const hash = match[1]!;
      const etag = `"${hash}"`;
      // Only a context served is immutable; an error answer is not (the error handler says no-store):
      // a 404 cached for a year would outlive the push that records the context minutes later.
      const immutable = () => reply.header('etag', etag).header('cache-control', 'public, max-age=31536000, immutable');
      if (request.headers['if-none-match'] === etag) return immutable().status(304).send(null);
      const opened = await service.contexts.open(hash);
      if (!opened) throw new DeciderError('not-found', `no context ${hash} is known`);
      void immutable();
      service.metrics.contextsServed.inc({ cache: opened.cached ? 'hit' : 'miss' });
      void reply.type('application/gzip');
      if (opened.size !== null) void reply.header('content-length', opened.size);
      return reply.send(opened.stream);
    },
  );
};

export default contextRoutes;
