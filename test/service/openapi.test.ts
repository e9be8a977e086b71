import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import request from 'supertest';
import { TestService } from '../support/app.ts';

describe('openapi.yaml', () => {
  let svc: TestService;
  before(async () => {
    svc = await TestService.start({ worker: false, dryRun: true });
  });
  after(() => svc.close());

  it('equals the spec the running app generates (regenerate with npm run openapi)', async () => {
    const committed = yaml.load(await readFile(resolve(import.meta.dirname, '../../openapi.yaml'), 'utf8'));
    const served = await request(svc.app.server)
      .get('/documentation/json')
      .expect(200)
      .expect('content-type', /^application\/json/);
    assert.deepEqual(served.body, committed);
  });

  it('documents every route with tags, and every error answer with the shared Error schema', () => {
    const spec = svc.app.swagger() as unknown as { paths: Record<string, Record<string, { tags?: string[]; responses: Record<string, unknown> }>> };
    for (const [path, methods] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        assert.ok(op.tags && op.tags.length > 0, `${method} ${path} has tags`);
        for (const [status, response] of Object.entries(op.responses)) {
          if (Number(status) >= 400 && path !== '/health') assert.match(JSON.stringify(response), /#\/components\/schemas\/Error/, `${method} ${path} ${status}`);
        }
      }
    }
  });
});
