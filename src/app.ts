import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import underPressure from '@fastify/under-pressure';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { installErrorHandling } from './http/errors.ts';
import contextRoutes from './routes/contexts.ts';
import dashboardRoutes from './routes/dashboard.ts';
import graphRoutes from './routes/graph.ts';
import healthRoutes from './routes/health.ts';
import imageRoutes from './routes/images.ts';
import pushRoutes from './routes/pushes.ts';
import { SHARED_SCHEMAS } from './routes/schemas.ts';
import webhookRoutes from './routes/webhooks.ts';
import type { Service } from './service/service.ts';
import { answerClientError } from './http/client-errors.ts';

export const API_INFO = {
  title: 'image-decider',
  description: 'Decides which in-tree docker images a Taskcluster push needs, creates their build tasks, and serves their contexts.',
  version: '0.1.0',
};

/** The HTTP application over a service; it owns nothing, so tests and the server share it. */
export async function buildApp(service: Service, options: { logger?: Logger } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: (options.logger ?? service.log) as FastifyBaseLogger,
    bodyLimit: service.config.bodyLimitBytes,
    // A client trickling its body must not hold a connection (and its buffers) for long:
    // the timeout is checked every half second rather than Node's default 30 s.
    requestTimeout: service.config.requestTimeoutSeconds * 1000,
    // Node derives the headers timeout from the request timeout only when both are given at
    // construction (as here): set later, a 60 s headers timeout would outlast a short request timeout.
    http: {
      connectionsCheckingInterval: 500,
      requestTimeout: service.config.requestTimeoutSeconds * 1000,
      headersTimeout: Math.min(60_000, service.config.requestTimeoutSeconds * 1000),
    },
    // Idle connections stay open longer than a load balancer's idle timeout (often 60 s):
    // closing first races its next request on the connection, a sporadic 502.
    keepAliveTimeout: service.config.keepAliveTimeoutSeconds * 1000,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,100}$/.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    return503OnClosing: true,
    clientErrorHandler: (err, socket) => answerClientError(err, socket, (options.logger ?? service.log) as FastifyBaseLogger),
  }).withTypeProvider<TypeBoxTypeProvider>();

  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  installErrorHandling(app);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: API_INFO,
      tags: ['webhooks', 'graph', 'contexts', 'images', 'pushes', 'operations', 'dashboard'].map((name) => ({ name })),
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transformObject: (doc) => ('openapiObject' in doc ? markOptionalBodies(doc.openapiObject) : doc.swaggerObject),
  });
  await app.register(swaggerUi, { routePrefix: '/documentation' });
  await app.register(underPressure, { maxEventLoopDelay: 2000, maxHeapUsedBytes: 1024 ** 3, exposeStatusRoute: false });

  for (const routes of [webhookRoutes, graphRoutes, contextRoutes, imageRoutes, pushRoutes, healthRoutes, dashboardRoutes]) {
    await app.register(routes, { service });
  }
  app.get('/', { schema: { hide: true } }, (_request, reply) => reply.redirect('/dashboard'));
  return app;
}

/**
 * @fastify/swagger marks every request body required; a route whose body may be left out
 * (its schema says `x-optional-body`, and it defaults the body itself) is documented so.
 */
function markOptionalBodies<T extends { paths?: object }>(doc: T): T {
  for (const methods of Object.values(doc.paths ?? {}) as object[]) {
    for (const op of Object.values(methods ?? {}) as Array<{ 'x-optional-body'?: boolean; requestBody?: { required?: boolean } }>) {
      if (op['x-optional-body'] && op.requestBody) op.requestBody.required = false;
    }
  }
  return doc;
}
