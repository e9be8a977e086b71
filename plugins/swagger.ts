import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';

export const API_INFO = {
  title: 'image-decider',
  description: 'Decides which in-tree docker images a Taskcluster push needs, creates their build tasks, and serves their contexts.',
  version: '0.1.0',
};

/**
 * The OpenAPI document of every route (`/documentation/json`, the committed openapi.yaml)
 * and its UI at /documentation. Not encapsulated: it must see the routes registered after it.
 */
export default fp(
  async (app) => {
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
  },
  { name: 'swagger' },
);

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
