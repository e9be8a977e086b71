import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type as T } from '@sinclair/typebox';
import type { Service } from '../src/service/service.ts';

const ASSETS = join(import.meta.dirname, '../src/dashboard');
const read = (name: string) => readFileSync(join(ASSETS, name), 'utf8');

// Everything comes from this server: the policy forbids any other origin, and inline code.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const dashboardRoutes: FastifyPluginAsyncTypebox<{ service: Service }> = async (app) => {
  const assets = { html: read('page.html'), css: read('dashboard.css'), icon: read('icon.svg') };
  const serve = (path: string, type: string, body: string) =>
    app.get(
      path,
      {
        schema: {
          tags: ['dashboard'],
          hide: type !== 'text/html',
          summary: 'The dashboard: pushes, the image graph and each image’s history, latency and builds per hour, health (HTML)',
          produces: [type],
          response: { 200: T.String() },
        },
      },
      async (_request, reply) => reply.header('content-security-policy', CSP).header('cache-control', 'no-cache').type(`${type}; charset=utf-8`).send(body),
    );
  serve('/dashboard', 'text/html', assets.html);
  serve('/dashboard/dashboard.css', 'text/css', assets.css);
  // The script's modules (dashboard.js imports the others), each read once at start.
  for (const name of readdirSync(ASSETS).filter((file) => file.endsWith('.js'))) serve(`/dashboard/${name}`, 'text/javascript', read(name));
  serve('/favicon.ico', 'image/svg+xml', assets.icon);
  app.get('/', { schema: { hide: true } }, (_request, reply) => reply.redirect('/dashboard'));
};

export default dashboardRoutes;
