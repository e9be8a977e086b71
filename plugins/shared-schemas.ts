import fp from 'fastify-plugin';
import { SHARED_SCHEMAS } from '../src/http/schemas.ts';

/** The schemas routes share by `$ref` (Error, Image, Push, Graph), added to the whole app. */
export default fp(
  async (app) => {
    for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  },
  { name: 'shared-schemas' },
);
