import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import autoload from '@fastify/autoload';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { answerClientError } from './http/client-errors.ts';
import { RequestLogs } from './http/request-logs.ts';
import type { Service } from './service/service.ts';

/** The checkout's root from here (`src/`), or the build's (`dist/src/`): `plugins/` and `routes/` are beside `src/`. */
const ROOT = join(import.meta.dirname, '..');

/**
 * The HTTP application over a service; it owns nothing, so tests and the server share it.
 * Cross-cutting plugins (`plugins/`, not encapsulated) come first, then one plugin per
 * resource (`routes/`), each given the service.
 */
export async function buildApp(service: Service, options: { logger?: Logger } = {}): Promise<FastifyInstance> {
  const { config } = service;
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
    // Behind a load balancer the client is the one its X-Forwarded-For names, for rate limits and logs.
    trustProxy: typeof config.trustProxy === 'object' ? [...config.trustProxy] : config.trustProxy,
    // Dashboard polling and /health, /metrics scrapes log their request lines at debug.
    logController: new RequestLogs(),
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,100}$/.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    return503OnClosing: true,
    clientErrorHandler: (err, socket) => answerClientError(err, socket, (options.logger ?? service.log) as FastifyBaseLogger),
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Autoload loads .ts files only under the loaders it recognises, and `node --import tsx`
  // is not one (it looks for tsx among --require'd modules). This file being TypeScript means
  // a loader compiles it, so it compiles the plugins and routes beside it too.
  if (import.meta.url.endsWith('.ts')) process.env.FASTIFY_AUTOLOAD_TYPESCRIPT ??= '1';
  await app.register(autoload, { dir: join(ROOT, 'plugins'), options: { service } });
  // Each route plugin names its full paths (they are the documented API), whatever its folder.
  await app.register(autoload, { dir: join(ROOT, 'routes'), options: { service }, dirNameRoutePrefix: false });
  return app;
}
