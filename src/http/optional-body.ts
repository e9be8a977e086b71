import type { FastifyInstance } from 'fastify';

/**
 * Within a routes plugin (encapsulated): a JSON body of no bytes is no body, as for a request
 * without one. Clients that always send `content-type: application/json` (fetch wrappers, `curl
 * -H`) reach routes whose body may be left out; a body with bytes is parsed as Fastify does.
 */
export function acceptEmptyJson(app: FastifyInstance): void {
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') done(null, undefined);
    else json(request, body as string, done);
  });
}
