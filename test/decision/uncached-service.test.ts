import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { UNCACHED_REASON } from '../../src/decision/planner.ts';
import { TestService, githubHeaders, githubPush } from '../support/app.ts';
import { TEST_CLIENT_SCOPES } from '../support/fake-taskcluster/server.ts';

interface GraphImage {
  decision: string;
  reason: string;
  taskId: string | null;
  digest: string | null;
  contextHash: string | null;
  indexPaths: string[];
  routes: string[];
  facts: unknown[];
}

/**
 * The service deciding the `cache-false/trees/image` repository (cached `base`, uncached
 * `tool` on it and `leaf` on `tool`), over HTTP. Its client may look up and index `base`
 * only: looking up or routing an uncached image would be refused by the Queue and Index.
 */
describe('the service and images with cache: false', () => {
  let svc: TestService | null = null;
  after(() => svc?.close());

  const push = async (service: TestService, delivery: string): Promise<string> => {
    const body = JSON.stringify(githubPush(service.headSha));
    const res = await fetch(`${service.url}/webhooks/github`, { method: 'POST', body, headers: githubHeaders(body, delivery) });
    assert.equal(res.status, 202);
    return ((await res.json()) as { pushId: string }).pushId;
  };

  it('GET /graph shows them built for the reason, with no digest, index paths or routes; the Queue got them without routes', async () => {
    svc = await TestService.start({
      tree: 'cache-false/trees/image',
      repoConfig: '    trustDomain: cf\n',
      clientScopes: [
        ...TEST_CLIENT_SCOPES,
        'index:find-task:cf.cache.level-3.docker-images.v2.base.*',
        'queue:create-task:low:cf-*',
        'queue:scheduler-id:cf-level-*',
        'queue:route:index.cf.cache.level-3.docker-images.v2.base.*',
      ],
    });
    const id = await push(svc, 'uncached-1');
    await svc.waitForPush(id, 20_000);
    const res = await fetch(`${svc.url}/graph?repo=acme&rev=${svc.headSha}`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as { state: string; images: Record<string, GraphImage> };
    assert.equal(doc.state, 'decided', JSON.stringify(doc.images));
    for (const name of ['tool', 'leaf']) {
      const image = doc.images[name]!;
      assert.equal(image.decision, 'build', name);
      assert.equal(image.reason, UNCACHED_REASON, name);
      assert.equal(image.digest, null, name);
      assert.match(image.contextHash!, /^[0-9a-f]{64}$/);
      assert.deepEqual([image.indexPaths, image.routes, image.facts], [[], [], []], name);
      assert.deepEqual(svc.fake.services.tasks.get(image.taskId!)!.definition.routes, [], name);
    }
    assert.equal(doc.images.base!.decision, 'build');
    assert.equal(svc.fake.services.tasks.size, 3);
  });
});
